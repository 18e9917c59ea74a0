"""The build context of a Blubber variant: ignore file, link checks, local op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flense import llb
from flense.blubber.baseimage import ImageTable
from flense.blubber.ignorefile import find_ignore_file, read_ignore_file
from flense.blubber.localpath import ContextPathError, has_wildcard, resolve_in_context
from flense.builders.base import BuildSettings
from flense.builders.blubber import (
    build_blubber,
    compile_variant,
    manifest_context,
    standalone_graph,
)
from flense.errors import UserInputError
from flense.manifest import load_manifest

AMD64 = llb.Platform(os="linux", architecture="amd64")
TABLE = ImageTable()

DIST = """\
version: v4
variants:
  dist:
    lives:
      in: /dist
    copies: [{from: local, source: ., destination: /dist}]
"""


def local_sources(state: llb.State) -> list[llb.DefinitionOp]:
    return [
        entry
        for entry in llb.marshal(state, platform=AMD64).ops
        if entry.op.source.identifier.startswith("local://")
    ]


def excludes_of(state: llb.State) -> list[str]:
    (entry,) = local_sources(state)
    text = entry.op.source.attrs.get("local.excludepatterns", "[]")
    return json.loads(text)


def names(state: llb.State) -> list[str]:
    return [
        entry.metadata.description["llb.customname"]
        for entry in llb.marshal(state, platform=AMD64).ops
        if "llb.customname" in entry.metadata.description
    ]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- reading the ignore file --------------------------------------------------


def test_ignore_file_lines(tmp_path: Path) -> None:
    path = tmp_path / ".dockerignore"
    path.write_bytes(
        b"\xef\xbb\xbf# comment\r\n"
        b"node_modules\r\n"
        b"\n"
        b"  /secret/  \n"
        b" # not a comment\n"
        b"!secret/keep\n"
        b"a/../b\n"
    )
    patterns = read_ignore_file(path)
    assert [item.text for item in patterns] == [
        "node_modules",
        "secret",
        "# not a comment",
        "!secret/keep",
        "b",
    ]
    assert patterns[1].origin == f"line 4 of {path}"
    assert patterns[1].location is not None
    assert patterns[1].location.line == 4


def test_ignore_file_invalid_pattern(tmp_path: Path) -> None:
    path = write(tmp_path / ".dockerignore", "ok\n[z-a\n")
    with pytest.raises(UserInputError) as caught:
        read_ignore_file(path)
    assert caught.value.location is not None
    assert caught.value.location.line == 2
    assert "invalid pattern '[z-a'" in caught.value.message


def test_ignore_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / ".dockerignore"
    path.write_bytes(b"ok\n\xff\n")
    with pytest.raises(UserInputError, match="is not valid UTF-8"):
        read_ignore_file(path)


def test_ignore_file_beside_config_first(tmp_path: Path) -> None:
    config = write(tmp_path / ".pipeline" / "blubber.yaml", DIST)
    write(tmp_path / ".dockerignore", "a\n")
    assert find_ignore_file(tmp_path, config) == tmp_path / ".dockerignore"
    beside = write(tmp_path / ".pipeline" / "blubber.yaml.dockerignore", "b\n")
    assert find_ignore_file(tmp_path, config) == beside


def test_ignore_file_absent(tmp_path: Path) -> None:
    config = write(tmp_path / "blubber.yaml", DIST)
    assert find_ignore_file(tmp_path, config) is None


def test_ignore_file_link_outside(tmp_path: Path) -> None:
    context = tmp_path / "context"
    config = write(context / "blubber.yaml", DIST)
    write(tmp_path / "elsewhere", "secret\n")
    (context / ".dockerignore").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserInputError, match="is an absolute path, outside"):
        find_ignore_file(context, config)


# --- resolving paths inside the context ---------------------------------------


def test_resolve_follows_inside_links(tmp_path: Path) -> None:
    write(tmp_path / "real" / "file.txt", "x\n")
    (tmp_path / "alias").symlink_to("real")
    (tmp_path / "real" / "again").symlink_to("../alias/file.txt")
    resolved = resolve_in_context(tmp_path, "alias/again")
    assert resolved == tmp_path / "real" / "file.txt"


def test_resolve_missing(tmp_path: Path) -> None:
    write(tmp_path / "file.txt", "x\n")
    assert resolve_in_context(tmp_path, "nothere") is None
    assert resolve_in_context(tmp_path, "file.txt/below") is None


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/etc", 'goes through the symlink "link" to "/etc", which is an absolute'),
        ("../..", 'goes through the symlink "link" to "../..", which leads above'),
        ("a/../../x", "which leads above the build context"),
    ],
)
def test_resolve_rejects_leaving_links(
    tmp_path: Path, target: str, reason: str
) -> None:
    context = tmp_path / "context"
    (context / "a").mkdir(parents=True)
    (context / "link").symlink_to(target)
    with pytest.raises(ContextPathError) as caught:
        resolve_in_context(context, "link/x")
    assert reason in caught.value.reason


def test_resolve_rejects_link_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(ContextPathError, match="loop"):
        resolve_in_context(tmp_path, "a")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/*.txt", True),
        ("a?", True),
        ("[ab]", True),
        ("a\\*b", False),
        ("plain/path", False),
    ],
)
def test_has_wildcard(path: str, expected: bool) -> None:
    assert has_wildcard(path) is expected


# --- checks of local sources at compile time ------------------------------------

CHECKED = """\
version: v4
variants:
  dist:
    lives:
      in: /dist
    copies:
      - from: local
        source: {source}
        destination: /dist/
  build:
    base: debian:bookworm
    node:
      requirements: [package.json, {source}]
"""


def compile_error(context: Path, source: str, variant: str = "dist") -> UserInputError:
    config = write(context / "blubber.yaml", CHECKED.format(source=source))
    with pytest.raises(UserInputError) as caught:
        compile_variant(config, variant, context, resolver=TABLE, platform=AMD64)
    return caught.value


def test_missing_copy_source(tmp_path: Path) -> None:
    error = compile_error(tmp_path, "nothere.txt")
    assert error.exit_code == 2
    assert error.location is not None
    assert (error.location.line, error.location.column) == (8, 17)
    assert error.message == (
        f'local source "nothere.txt" not found in the build context {tmp_path}; '
        "check the path, or add the file to the context"
    )


def test_missing_requirement(tmp_path: Path) -> None:
    write(tmp_path / "package.json", "{}\n")
    error = compile_error(tmp_path, "lock.json", "build")
    assert error.location is not None
    assert (error.location.line, error.location.column) == (13, 36)
    assert 'local source "lock.json" not found' in error.message


def test_missing_source_context_hint(tmp_path: Path) -> None:
    component = tmp_path / "component"
    config = write(
        component / ".pipeline" / "blubber.yaml", CHECKED.format(source="app.js")
    )
    write(component / "app.js", "x\n")
    with pytest.raises(UserInputError) as caught:
        compile_variant(config, "dist", tmp_path, resolver=TABLE, platform=AMD64)
    assert caught.value.message.endswith(f"is --context right? {component} contains it")


def test_missing_source_config_directory_hint(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    config = write(tmp_path / "config" / "blubber.yaml", CHECKED.format(source="x"))
    with pytest.raises(UserInputError) as caught:
        compile_variant(config, "dist", other, resolver=TABLE, platform=AMD64)
    assert caught.value.message.endswith(
        f"is --context right? The config's own directory is {config.parent}"
    )


def test_wildcard_source_not_checked(tmp_path: Path) -> None:
    config = write(tmp_path / "blubber.yaml", CHECKED.format(source="'*.none'"))
    definition, _ = compile_variant(
        config, "dist", tmp_path, resolver=TABLE, platform=AMD64
    )
    assert definition.ops


@pytest.mark.parametrize(
    ("link", "target", "expected"),
    [
        ("etclink", "/etc", 'goes through the symlink "etclink" to "/etc"'),
        ("uplink", "../../", 'goes through the symlink "uplink" to "../../"'),
    ],
)
def test_source_link_outside(
    tmp_path: Path, link: str, target: str, expected: str
) -> None:
    (tmp_path / link).symlink_to(target)
    error = compile_error(tmp_path, link)
    assert error.location is not None
    assert error.location.line == 8
    assert expected in error.message


def test_source_link_inside_accepted(tmp_path: Path) -> None:
    write(tmp_path / "real" / "a.txt", "a\n")
    (tmp_path / "alias").symlink_to("real")
    config = write(tmp_path / "blubber.yaml", CHECKED.format(source="alias"))
    definition, _ = compile_variant(
        config, "dist", tmp_path, resolver=TABLE, platform=AMD64
    )
    assert definition.ops


def test_excluded_source(tmp_path: Path) -> None:
    write(tmp_path / "secret" / "key", "k\n")
    write(tmp_path / ".dockerignore", "node_modules\nsecret\n")
    error = compile_error(tmp_path, "secret/key")
    assert error.message == (
        'local source "secret/key" is excluded from the build context by the '
        f'pattern "secret" (line 2 of {tmp_path / ".dockerignore"}), so BuildKit '
        "never receives it; remove the pattern or stop copying the path"
    )


def test_excluded_source_with_exception_accepted(tmp_path: Path) -> None:
    write(tmp_path / "secret" / "key", "k\n")
    write(tmp_path / ".dockerignore", "secret\n!secret/key\n")
    config = write(tmp_path / "blubber.yaml", CHECKED.format(source="secret/key"))
    definition, _ = compile_variant(
        config, "dist", tmp_path, resolver=TABLE, platform=AMD64
    )
    assert definition.ops


# --- the standalone context -----------------------------------------------------


def test_standalone_local_excludes_ignore_file(tmp_path: Path) -> None:
    config = write(tmp_path / "blubber.yaml", DIST)
    write(tmp_path / ".dockerignore", "# deps\nnode_modules\n/secret\n")
    graph = standalone_graph(
        config, "dist", context=tmp_path, resolver=TABLE, platform=AMD64
    )
    assert excludes_of(graph.state) == ["node_modules", "secret"]


def test_standalone_local_without_ignore_file(tmp_path: Path) -> None:
    config = write(tmp_path / "blubber.yaml", DIST)
    graph = standalone_graph(
        config, "dist", context=tmp_path, resolver=TABLE, platform=AMD64
    )
    assert excludes_of(graph.state) == []


def test_standalone_context_names(tmp_path: Path) -> None:
    config = write(tmp_path / "blubber.yaml", DIST)
    graph = standalone_graph(
        config, "dist", context=tmp_path, resolver=TABLE, platform=AMD64
    )
    vertex_names = names(graph.state)
    assert vertex_names[:2] == ["[context] transfer", "[context] context"]


def test_standalone_names_do_not_change_digests(tmp_path: Path) -> None:
    def context(label: str) -> list[tuple[str, bytes]]:
        local = llb.local("context", shared_key_hint="context", name=f"[{label}] t")
        state = llb.scratch().file(
            llb.copy(local, "/", "/", copy_dir_contents=True), name=f"[{label}] c"
        )
        return [
            (entry.digest, entry.op.SerializeToString(deterministic=True))
            for entry in llb.marshal(state, platform=AMD64).ops
        ]

    assert context("dist") == context("context")


# --- a manifest component -------------------------------------------------------

MANIFEST = """\
destination:
  root: /srv/mw
  exclude: [.git, "**/docs"]
components:
  - source: ext/G
    builder: blubber
    variant: dist
"""


def manifest_component(tmp_path: Path, ignore: str, manifest: str = MANIFEST):  # type: ignore[no-untyped-def]
    component = tmp_path / "ext" / "G"
    write(component / ".pipeline" / "blubber.yaml", DIST)
    write(component / "main.txt", "main\n")
    if ignore:
        write(component / ".dockerignore", ignore)
    write(tmp_path / ".pipeline" / "manifest.yaml", manifest)
    loaded = load_manifest(tmp_path / ".pipeline" / "manifest.yaml", tmp_path)
    settings = BuildSettings(context=tmp_path, exclude=loaded.exclude)
    return loaded.components[0], settings


def test_manifest_local_excludes_ignore_file(tmp_path: Path) -> None:
    component, settings = manifest_component(tmp_path, "node_modules\nsecret\n")
    output = build_blubber(component, settings, resolver=TABLE, platform=AMD64)
    assert excludes_of(output.state) == [
        "ext/G/.git",
        "ext/G/**/docs",
        "ext/G/node_modules",
        "ext/G/secret",
    ]


def test_manifest_ignore_file_exceptions_go_first(tmp_path: Path) -> None:
    component, settings = manifest_component(tmp_path, "secret\n!secret/keep\n")
    output = build_blubber(component, settings, resolver=TABLE, platform=AMD64)
    assert excludes_of(output.state) == [
        "ext/G/secret",
        "!ext/G/secret/keep",
        "ext/G/.git",
        "ext/G/**/docs",
    ]


def test_manifest_exceptions_in_both_rejected(tmp_path: Path) -> None:
    manifest = MANIFEST.replace('"**/docs"]', '"**/docs", "!docs/keep"]')
    component, settings = manifest_component(
        tmp_path, "secret\n!secret/keep\n", manifest
    )
    with pytest.raises(UserInputError) as caught:
        build_blubber(component, settings, resolver=TABLE, platform=AMD64)
    assert caught.value.location is not None
    assert caught.value.location.path == tmp_path / "ext" / "G" / ".dockerignore"
    assert caught.value.location.line == 2
    assert 'remove the patterns that start with "!"' in caught.value.message


def test_manifest_context_matches_standalone(tmp_path: Path) -> None:
    component, settings = manifest_component(tmp_path, "node_modules\nsecret\n")
    output = build_blubber(component, settings, resolver=TABLE, platform=AMD64)
    directory = tmp_path / "ext" / "G"
    alone = standalone_graph(
        directory / ".pipeline" / "blubber.yaml",
        "dist",
        context=directory,
        resolver=TABLE,
        platform=AMD64,
    )
    # The step after the context copies the same paths in both forms.
    last_alone = llb.marshal(alone.state, platform=AMD64).ops[-2]
    last_manifest = llb.marshal(output.state, platform=AMD64).ops[-2]
    assert last_alone.op.file == last_manifest.op.file


def test_manifest_missing_source_hint(tmp_path: Path) -> None:
    component, settings = manifest_component(tmp_path, "")
    config = tmp_path / "ext" / "G" / ".pipeline" / "blubber.yaml"
    config.write_text(DIST.replace("source: .", "source: gone"))
    with pytest.raises(UserInputError) as caught:
        build_blubber(component, settings, resolver=TABLE, platform=AMD64)
    assert caught.value.message.endswith(
        "a blubber component reads local files from its own directory, which is "
        "its build context"
    )


def test_manifest_source_excluded_by_manifest(tmp_path: Path) -> None:
    component, settings = manifest_component(tmp_path, "")
    write(tmp_path / "ext" / "G" / "docs" / "a.md", "a\n")
    config = tmp_path / "ext" / "G" / ".pipeline" / "blubber.yaml"
    config.write_text(DIST.replace("source: .", "source: docs"))
    with pytest.raises(UserInputError) as caught:
        build_blubber(component, settings, resolver=TABLE, platform=AMD64)
    assert "(the manifest's exclude)" in caught.value.message


def test_manifest_context_default_ignore(tmp_path: Path) -> None:
    component, settings = manifest_component(tmp_path, "")
    assert excludes_of(manifest_context(component, settings)) == [
        "ext/G/.git",
        "ext/G/**/docs",
    ]


def test_manifest_unknown_variant_located(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("variant: dist", "variant: dsit")
    component, settings = manifest_component(tmp_path, "", manifest)

    with pytest.raises(UserInputError) as caught:
        build_blubber(component, settings, resolver=TABLE, platform=AMD64)

    assert caught.value.location is not None
    line = manifest.splitlines()[caught.value.location.line - 1]
    assert line.strip() == "variant: dsit"
    assert 'did you mean "dist"?' in caught.value.message


def test_ignore_file_beside_config_link_outside(tmp_path: Path) -> None:
    context = tmp_path / "context"
    config = write(context / ".pipeline" / "blubber.yaml", DIST)
    write(tmp_path / "elsewhere", "secret\n")
    link = context / ".pipeline" / "blubber.yaml.dockerignore"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserInputError, match="is an absolute path, outside"):
        find_ignore_file(context, config)
