"""Manifest checks on nested destinations, control characters, and manifests
read from bytes (standard input or a pipe)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flense.errors import Location, UserInputError
from flense.manifest import load_manifest

HEADER = "destination:\n  root: /srv/app\n"


def make_tree(root: Path, entries: dict[str, str | None]) -> None:
    """Create files (text), directories (None) and symlinks ("-> target")."""
    for path, content in entries.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            target.mkdir(exist_ok=True)
        elif content.startswith("-> "):
            os.symlink(content.removeprefix("-> "), target)
        else:
            target.write_text(content)


def load_text(context: Path, text: str):
    path = context / "flense.yaml"
    path.write_text(text)
    return load_manifest(path, context), path


def error_of(context: Path, text: str) -> tuple[UserInputError, Path]:
    path = context / "flense.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError) as caught:
        load_manifest(path, context)
    return caught.value, path


# --- nested destinations through a symlink or a file --------------------------

# The parent "core" sits at the root; "child" is another component directory.
TREE = {
    "core/linked": "-> lnk_target",
    "core/lnk_target": None,
    "core/dir/inner": "-> ../lnk_target",
    "core/file": "text",
    "core/abs": "-> /etc",
    "core/up": "-> ../../outside",
    "core/plain": None,
    "child/x": "child file",
    "blubbered/.pipeline/blubber.yaml": "version: v4\n",
}

CORE_AT_ROOT = HEADER + "components:\n  - source: core\n    destination: .\n"

# (case, components after core, line:column and message of the error)
NESTED_BAD = [
    (
        "through-symlink",
        "  - source: child\n    destination: linked/x\n",
        '7:18: destination "linked/x" passes through "linked", a symlink to '
        '"lnk_target" in the source "core" of the component on line 4; '
        "--assemble merge would replace the symlink with a directory and "
        "--assemble chain would write through it, so the two would build "
        'different images. Set destination: "lnk_target/x" to write into its '
        'target, or make "linked" a directory in "core"',
    ),
    (
        "at-symlink",
        "  - source: child\n    destination: linked\n",
        '7:18: destination "linked" passes through "linked", a symlink to '
        '"lnk_target" in the source "core" of the component on line 4; '
        "--assemble merge would replace the symlink with a directory and "
        "--assemble chain would write through it, so the two would build "
        'different images. Set destination: "lnk_target" to write into its '
        'target, or make "linked" a directory in "core"',
    ),
    (
        "deeper-symlink",
        "  - source: child\n    destination: dir/inner/y\n",
        '7:18: destination "dir/inner/y" passes through "dir/inner", a symlink '
        'to "../lnk_target" in the source "core" of the component on line 4; '
        "--assemble merge would replace the symlink with a directory and "
        "--assemble chain would write through it, so the two would build "
        'different images. Set destination: "lnk_target/y" to write into its '
        'target, or make "dir/inner" a directory in "core"',
    ),
    (
        "absolute-symlink",
        "  - source: child\n    destination: abs/x\n",
        '7:18: destination "abs/x" passes through "abs", a symlink to "/etc" '
        'in the source "core" of the component on line 4; --assemble merge '
        "would replace the symlink with a directory and --assemble chain would "
        'write through it, so the two would build different images. Make "abs" '
        'a directory in "core"',
    ),
    (
        "symlink-leaving-root",
        "  - source: child\n    destination: up/x\n",
        '7:18: destination "up/x" passes through "up", a symlink to '
        '"../../outside" in the source "core" of the component on line 4; '
        "--assemble merge would replace the symlink with a directory and "
        "--assemble chain would write through it, so the two would build "
        'different images. Make "up" a directory in "core"',
    ),
    (
        "through-file",
        "  - source: child\n    destination: file/x\n",
        '7:18: destination "file/x" passes through "file", a file in the source '
        '"core" of the component on line 4, so --assemble merge and --assemble '
        "chain would build different images; choose a destination that does "
        'not pass through it, or exclude or remove "file" in "core"',
    ),
    (
        "bare-string",
        "  - linked\n",
        '6:5: destination "linked" passes through "linked", a symlink to '
        '"lnk_target" in the source "core" of the component on line 4; '
        "--assemble merge would replace the symlink with a directory and "
        "--assemble chain would write through it, so the two would build "
        'different images. Set destination: "lnk_target" to write into its '
        'target, or make "linked" a directory in "core"',
    ),
]


@pytest.mark.parametrize(
    ("components", "expected"),
    [(components, expected) for _, components, expected in NESTED_BAD],
    ids=[case for case, _, _ in NESTED_BAD],
)
def test_nested_destination_bad(tmp_path, components, expected):
    make_tree(tmp_path, TREE)
    # A bare "linked" source must exist for the bare-string case.
    (tmp_path / "linked").mkdir()

    error, path = error_of(tmp_path, CORE_AT_ROOT + components)

    assert str(error).splitlines()[0] == f"{path}:{expected}"
    assert error.exit_code == 2


def test_nested_destination_below_parent_destination(tmp_path):
    make_tree(tmp_path, TREE)
    text = (
        HEADER + "components:\n"
        "  - source: core\n    destination: extensions/Core\n"
        "  - source: child\n    destination: extensions/Core/linked/x\n"
    )

    error, path = error_of(tmp_path, text)

    assert error.location == Location(path, 7, 18)
    assert '"extensions/Core/linked", a symlink to "lnk_target"' in error.message
    assert 'Set destination: "extensions/Core/lnk_target/x"' in error.message


@pytest.mark.parametrize(
    ("case", "text"),
    [
        (
            "real-directory",
            CORE_AT_ROOT + "  - source: child\n    destination: plain/x\n",
        ),
        (
            "missing-path",
            CORE_AT_ROOT + "  - source: child\n    destination: absent/x\n",
        ),
        (
            "symlink-target-itself",
            CORE_AT_ROOT + "  - source: child\n    destination: lnk_target/x\n",
        ),
        (
            "excluded-symlink",
            "destination:\n  root: /srv/app\n  exclude: [linked]\n"
            "components:\n  - source: core\n    destination: .\n"
            "  - source: child\n    destination: linked/x\n",
        ),
        (
            "not-nested",
            HEADER + "components:\n  - source: core\n    destination: core\n"
            "  - source: child\n    destination: linked/x\n",
        ),
        (
            "blubber-parent",
            HEADER + "components:\n"
            "  - source: blubbered\n    destination: .\n"
            "    builder: blubber\n    variant: v\n"
            "  - source: child\n    destination: .pipeline/blubber.yaml/x\n",
        ),
    ],
)
def test_nested_destination_allowed(tmp_path, case, text):
    make_tree(tmp_path, TREE)

    manifest, _ = load_text(tmp_path, text)

    assert len(manifest.components) == 2


def test_nested_destination_excluded_then_included(tmp_path):
    # With a "!" pattern the symlink may still be sent, so it is rejected.
    make_tree(tmp_path, TREE)
    text = (
        "destination:\n  root: /srv/app\n  exclude: [linked, '!linked']\n"
        "components:\n  - source: core\n    destination: .\n"
        "  - source: child\n    destination: linked/x\n"
    )

    error, path = error_of(tmp_path, text)

    assert error.location == Location(path, 8, 18)


def test_nested_destination_symlink_not_followed(tmp_path):
    # The link points at a directory, yet the destination is rejected.
    make_tree(tmp_path, TREE)

    error, _ = error_of(
        tmp_path, CORE_AT_ROOT + "  - source: child\n    destination: linked/x\n"
    )

    assert (tmp_path / "core" / "linked").resolve().is_dir()
    assert "a symlink" in error.message


# --- control characters -------------------------------------------------------

# (case, manifest after the header, line:column and message of the error)
CONTROL_BAD = [
    (
        "source-newline",
        'components:\n  - "co\\nre"\n',
        '4:5: source "co\\nre" contains the control character U+000A at '
        "position 3; remove it",
    ),
    (
        "source-tab",
        'components:\n  - source: "core\\t"\n',
        '4:13: source "core\\t" contains the control character U+0009 at '
        "position 5; remove it",
    ),
    (
        "destination-escape",
        'components:\n  - source: core\n    destination: "a\\x1bb"\n',
        '5:18: destination "a\\u001bb" contains the control character U+001B '
        "at position 2; remove it",
    ),
    (
        "destination-delete",
        'components:\n  - source: core\n    destination: "a\\x7f"\n',
        '5:18: destination "a\\u007f" contains the control character U+007F '
        "at position 2; remove it",
    ),
    (
        "destination-c1",
        'components:\n  - source: core\n    destination: "a\\x85"\n',
        '5:18: destination "a\\u0085" contains the control character U+0085 '
        "at position 2; remove it",
    ),
    (
        "destination-nul",
        'components:\n  - source: core\n    destination: "a\\0"\n',
        '5:18: destination "a\\u0000" contains the control character U+0000 '
        "at position 2; remove it",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, expected) for _, text, expected in CONTROL_BAD],
    ids=[case for case, _, _ in CONTROL_BAD],
)
def test_control_character_rejected(tmp_path, text, expected):
    make_tree(tmp_path, TREE)

    error, path = error_of(tmp_path, HEADER + text)

    assert str(error).splitlines()[0] == f"{path}:{expected}"


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "root",
            'destination:\n  root: "/srv\\r"\ncomponents: [core]\n',
            '2:9: destination.root "/srv\\r" contains the control character '
            "U+000D at position 5; remove it",
        ),
        (
            "exclude",
            'destination:\n  root: /srv\n  exclude: ["*.log\\n"]\ncomponents: [core]\n',
            '3:13: exclude pattern "*.log\\n" contains the control character '
            "U+000A at position 6; remove it",
        ),
    ],
)
def test_control_character_in_root_and_exclude(tmp_path, case, text, expected):
    make_tree(tmp_path, TREE)

    error, path = error_of(tmp_path, text)

    assert str(error).splitlines()[0] == f"{path}:{expected}"


def test_non_ascii_destination_allowed(tmp_path):
    # BuildKit 0.12+ percent-encodes non-ASCII header values, so these travel.
    make_tree(tmp_path, {"Café": None})

    manifest, _ = load_text(
        tmp_path, HEADER + "components:\n  - source: Café\n    destination: é/ü\n"
    )

    assert manifest.components[0].destination == "é/ü"


# --- manifests given as bytes -------------------------------------------------


def test_manifest_from_bytes(tmp_path):
    make_tree(tmp_path, TREE)
    data = (HEADER + "components:\n  - core\n").encode()

    manifest = load_manifest(Path("<stdin>"), tmp_path, data)

    assert manifest.path == Path("<stdin>")
    assert manifest.components[0].source == "core"


def test_manifest_from_bytes_error_quotes_line(tmp_path):
    data = (HEADER + "components:\n  - source: core\n    buildr: copy\n").encode()

    with pytest.raises(UserInputError) as caught:
        load_manifest(Path("<stdin>"), tmp_path, data)

    assert str(caught.value).splitlines() == [
        '<stdin>:5:5: unknown key "buildr"; did you mean "builder"?',
        "        buildr: copy",
        "        ^",
    ]


def test_manifest_not_utf8_quotes_line(tmp_path):
    path = tmp_path / "flense.yaml"
    path.write_bytes(b"destination:\n  root: /srv/\xeeapp\n")

    with pytest.raises(UserInputError) as caught:
        load_manifest(path, tmp_path)

    assert str(caught.value).splitlines() == [
        f"{path}:2:14: the file is not valid UTF-8 (byte 0xee); save it as UTF-8",
        "      root: /srv/\ufffdapp",
        "                 ^",
    ]


def test_manifest_byte_order_mark_column(tmp_path):
    path = tmp_path / "flense.yaml"
    path.write_bytes(b"\xef\xbb\xbfdestinaton: {}\n")

    with pytest.raises(UserInputError) as caught:
        load_manifest(path, tmp_path)

    assert str(caught.value).splitlines()[1:] == ["    destinaton: {}", "    ^"]
