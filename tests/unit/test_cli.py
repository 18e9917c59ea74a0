"""The flense command line: exit statuses, error lines and output guards."""

from __future__ import annotations

import argparse
import logging
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from flense import __version__
from flense.assemble import DEFAULT_MAX_LAYERS
from flense.cli import (
    _assemble_mode,
    _check_tag,
    _compiled_definition,
    _configure_logging,
    _progress_mode,
    _warn_layout_options,
)
from flense.errors import UsageError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mediawiki"


def flense(*args: str, cwd: Path = EXAMPLE, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "flense", *args],
        cwd=cwd,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_version_prints_package_version():
    result = flense("--version", text=True)

    assert result.returncode == 0
    assert result.stdout.strip() == f"flense {__version__}"


def test_compile_writes_definition():
    result = flense("compile", ".pipeline/manifest.yaml")

    assert result.returncode == 0
    assert result.stdout.startswith(b"\n")  # field 1 (def), length-delimited
    assert result.stderr == b""


def test_bad_manifest_exits_2_without_traceback(tmp_path):
    (tmp_path / "core").mkdir()
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "destination:\n  root: /srv/app\ncomponents:\n  - source: core\n"
        "    buildr: copy\n"
    )

    result = flense("compile", str(manifest), "--context", str(tmp_path), text=True)

    assert result.returncode == 2
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith(f"{manifest}:5:5: ")
    assert '"buildr"' in first_line
    assert '"builder"' in first_line
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_context_exits_2(tmp_path):
    result = flense(
        "compile",
        ".pipeline/manifest.yaml",
        "--context",
        str(tmp_path / "no"),
        text=True,
    )

    assert result.returncode == 2
    assert "--context" in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_refuses_terminal():
    leader, follower = pty.openpty()
    try:
        result = flense("compile", ".pipeline/manifest.yaml", stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)

    assert result.returncode == 2
    assert b"refusing to write binary LLB to a terminal" in result.stderr


def test_bad_tag_rejected_before_build():
    result = flense(
        "build",
        ".pipeline/manifest.yaml",
        "--tag",
        "Bad Name:x",
        "--addr",
        "tcp://127.0.0.1:1",
        text=True,
    )

    assert result.returncode == 2
    assert "--tag 'Bad Name:x'" in result.stderr


@pytest.mark.parametrize(
    ("requested", "caps", "expected"),
    [
        ("auto", None, "merge"),
        ("auto", frozenset({"mergeop"}), "merge"),
        ("auto", frozenset(), "chain"),
        ("chain", frozenset({"mergeop"}), "chain"),
        ("merge", frozenset({"mergeop"}), "merge"),
    ],
)
def test_assemble_mode_choice(requested, caps, expected):
    assert _assemble_mode(requested, caps) == expected


def test_assemble_merge_without_mergeop():
    with pytest.raises(UsageError, match="containerd image store"):
        _assemble_mode("merge", frozenset())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", "plain"), ("rawjson", "rawjson"), ("", "auto"), (None, "auto")],
)
def test_progress_default_from_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("BUILDKIT_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("BUILDKIT_PROGRESS", value)

    assert _progress_mode(None) == expected


def test_progress_option_wins_over_environment(monkeypatch):
    monkeypatch.setenv("BUILDKIT_PROGRESS", "bogus")

    assert _progress_mode("quiet") == "quiet"


@pytest.mark.parametrize("value", ["bogus", "PLAIN", " plain"])
def test_progress_environment_invalid(monkeypatch, value):
    monkeypatch.setenv("BUILDKIT_PROGRESS", value)

    with pytest.raises(UsageError) as raised:
        _progress_mode(None)

    assert str(raised.value) == (
        f"invalid BUILDKIT_PROGRESS={value!r}: use one of auto, tty, plain, "
        "quiet, rawjson, or unset it"
    )


def test_progress_environment_invalid_exits_2():
    result = flense(
        "build",
        ".pipeline/manifest.yaml",
        "--addr",
        "tcp://127.0.0.1:1",
        text=True,
        env={**os.environ, "BUILDKIT_PROGRESS": "bogus"},
    )

    assert result.returncode == 2
    assert result.stderr == (
        "flense: error: invalid BUILDKIT_PROGRESS='bogus': use one of auto, tty, "
        "plain, quiet, rawjson, or unset it\n"
    )


# --- reading MANIFEST once, from a file, a pipe or "-" ------------------------


def test_compile_reads_manifest_from_pipe():
    expected = flense("compile", ".pipeline/manifest.yaml").stdout
    manifest = (EXAMPLE / ".pipeline" / "manifest.yaml").read_bytes()

    for argument in ("-", "/dev/stdin"):
        result = flense("compile", argument, input=manifest)

        assert result.returncode == 0, argument
        assert result.stderr == b"", argument
        assert result.stdout == expected, argument


def test_compile_stdin_error_quotes_line(tmp_path):
    manifest = "destination:\n  root: /srv\ncomponents:\n  - nope\n"

    result = flense(
        "compile", "-", "--context", str(tmp_path), input=manifest, text=True
    )

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        '<stdin>:4:5: source directory "nope" not found in the build context '
        f"{tmp_path.resolve()}; check the path and the --context directory",
        "      - nope",
        "        ^",
    ]


def test_compile_stdin_sources_relative_to_context(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "file").write_text("x")
    manifest = b"destination:\n  root: /srv\ncomponents:\n  - core\n"

    result = flense("compile", "-", "--format", "json", cwd=tmp_path, input=manifest)

    assert result.returncode == 0
    assert b"core" in result.stdout


def test_compile_rejects_compiled_definition(tmp_path):
    definition = tmp_path / "def.pb"
    definition.write_bytes(flense("compile", ".pipeline/manifest.yaml").stdout)

    from_file = flense("compile", str(definition), text=True)
    from_stdin = flense("compile", "-", stdin=definition.open("rb"), text=True)

    assert from_file.returncode == 2
    assert from_file.stderr == (
        f"flense: error: {definition} is a compiled LLB definition, not a "
        "manifest: flense compile takes a manifest; build the definition with "
        f"`flense build {definition}` or `buildctl build --local context=DIR`\n"
    )
    assert from_stdin.returncode == 2
    assert from_stdin.stderr == (
        "flense: error: <stdin> is a compiled LLB definition, not a manifest: "
        "flense compile takes a manifest; build the definition with "
        "`flense build -` or `buildctl build --local context=DIR`\n"
    )


def test_compile_blubber_config_hint():
    config = "extensions/Popups/.pipeline/blubber.yaml"

    result = flense("compile", config, text=True)

    assert result.returncode == 2
    assert result.stderr == (
        f"flense: error: {config} is a Blubber config, not a manifest: compile "
        f"one of its variants with `flense blubber {config} VARIANT`\n"
    )


def test_build_blubber_config_hint():
    config = "extensions/Popups/.pipeline/blubber.yaml"

    result = flense("build", config, "--addr", "tcp://127.0.0.1:1", text=True)

    assert result.returncode == 2
    assert result.stderr == (
        f"flense: error: {config} is a Blubber config, not a manifest: build "
        f"one of its variants with `flense build {config} --variant NAME`\n"
    )


def test_build_variant_rejects_stdin():
    result = flense(
        "build", "-", "--variant", "test", "--addr", "tcp://127.0.0.1:1", text=True
    )

    assert result.returncode == 2
    assert result.stderr == (
        "flense: error: a Blubber config cannot be read from standard input; "
        "give its path, such as .pipeline/blubber.yaml\n"
    )


def test_compile_help_names_no_variant():
    result = flense("compile", "--help", text=True)

    assert result.returncode == 0
    assert "--variant" not in result.stdout
    assert "Blubber" not in result.stdout
    assert "- to read it from standard input" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("case", "data", "is_definition"),
    [
        ("manifest", (EXAMPLE / ".pipeline" / "manifest.yaml").read_bytes(), False),
        ("leading-newline", b"\ndestination:\n  root: /srv\n", False),
        ("empty", b"", False),
        ("not-utf8", b"root: \xee\n", False),
        ("control-byte", b"\x12\x00", False),
    ],
)
def test_compiled_definition_detection(case, data, is_definition):
    assert (_compiled_definition(data) is not None) == is_definition


def test_compiled_definition_detected():
    data = flense("compile", ".pipeline/manifest.yaml").stdout

    definition = _compiled_definition(data)

    assert definition is not None
    assert definition.to_bytes() == data


# --- tags ---------------------------------------------------------------------

EXAMPLE_NAMES = "use a name such as mw:dev or registry.example/mediawiki:1.43"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (
            "Tester-MW:dev",
            "--tag 'Tester-MW:dev': the repository name 'Tester-MW' must be "
            "lowercase; use 'tester-mw:dev'",
        ),
        (
            "registry.example/Team/App",
            "--tag 'registry.example/Team/App': the repository name "
            "'registry.example/Team/App' must be lowercase; use "
            "'registry.example/team/app'",
        ),
        (
            "tester-mw:",
            "--tag 'tester-mw:': the tag after ':' is empty; add one, as in "
            "'tester-mw:dev', or remove the ':'",
        ),
        (
            "Bad Name:x",
            "--tag 'Bad Name:x': invalid image name: a repository name contains "
            f"only lowercase letters, digits, '.', '_', '-' and '/'; {EXAMPLE_NAMES}",
        ),
        ("", f"--tag '': the image name is empty; {EXAMPLE_NAMES}"),
    ],
)
def test_tag_error_message(tag, expected):
    with pytest.raises(UsageError) as raised:
        _check_tag(tag)

    assert str(raised.value) == expected
    assert str(raised.value).count("use ") <= 1


@pytest.mark.parametrize("tag", ["mw:dev", "registry.example:5000/mediawiki:1.43"])
def test_tag_valid(tag):
    _check_tag(tag)


def test_bad_tag_names_user_value():
    result = flense(
        "build",
        ".pipeline/manifest.yaml",
        "--tag",
        "Tester-MW:dev",
        "--addr",
        "tcp://127.0.0.1:1",
        text=True,
    )

    assert result.returncode == 2
    assert "library/" not in result.stderr


# --- logging and warnings -----------------------------------------------------


@pytest.mark.parametrize(
    ("verbosity", "level"),
    [(0, logging.WARNING), (2, logging.WARNING), (3, logging.DEBUG)],
)
def test_library_loggers_level(verbosity, level):
    try:
        _configure_logging(verbosity)

        for name in ("hpack", "h2", "grpc"):
            assert logging.getLogger(name).level == level, name
    finally:
        for name in ("hpack", "h2", "grpc"):
            logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"max_layers": 5},
            "--max-layers applies to manifests and is ignored with --variant",
        ),
        (
            {"max_layers": 5, "assemble": "chain"},
            "--max-layers, --assemble apply to manifests and are ignored with "
            "--variant",
        ),
    ],
)
def test_layout_options_warning(caplog, options, expected):
    args = argparse.Namespace(
        **{
            "max_layers": DEFAULT_MAX_LAYERS,
            "assemble": "auto",
            "single_context": False,
            **options,
        }
    )

    with caplog.at_level(logging.WARNING, logger="flense"):
        _warn_layout_options(args, "with --variant")

    assert [record.getMessage() for record in caplog.records] == [expected]


def test_build_definition_needs_its_context(tmp_path):
    definition = tmp_path / "def.pb"
    definition.write_bytes(flense("compile", ".pipeline/manifest.yaml").stdout)
    empty = tmp_path / "empty"
    empty.mkdir()

    result = flense("build", str(definition), "--context", str(empty), text=True)

    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(
        "flense: error: the definition reads 'mediawiki' from the local "
        f"directory context, which is not in {empty.resolve()}; run flense "
        "build in the directory where flense compile ran"
    )
