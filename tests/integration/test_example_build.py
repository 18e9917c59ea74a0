"""The main job on the bundled example, against the real engine.

The expected image tree is computed here independently of flense's pattern
code: the example's manifest excludes a component's top-level ``.git`` and
every ``docs`` and ``node_modules`` directory at any depth.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from flense import llb
from flense.build import BuildRequest, run_build
from flense.compose import compose
from flense.manifest import load_manifest

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
ROOT = "srv/mediawiki"
POPUPS = "extensions/Popups"
# Files the Popups Blubber build copies from its sources into /dist.
POPUPS_SOURCES = ("build.js", "extension.json", "i18n", "includes", "resources", "src")


def prepare_example(destination: Path) -> Path:
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "prepare-example.sh"), str(destination)],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(result.stdout.strip())


def compile_example(context: Path) -> llb.Definition:
    manifest = load_manifest(context / ".pipeline" / "manifest.yaml", context)
    return llb.marshal(compose(manifest, max_layers=100))


def build(context: Path, *outputs: str):
    request = BuildRequest(
        definition=compile_example(context),
        context=context,
        outputs=outputs,
        progress="quiet",
    )
    return run_build(request)


def build_uncached(context: Path, *outputs: str):
    request = BuildRequest(
        definition=compile_example(context),
        context=context,
        outputs=outputs,
        progress="quiet",
        no_cache=True,
    )
    return run_build(request)


def always_runs(name: str) -> bool:
    """Tell steps that BuildKit runs on every build: transfers, image lookups.

    An image lookup may carry the name another build gave the same vertex
    (``[build] from ...``), because BuildKit runs identical vertices of
    concurrent builds once.
    """
    return (
        name.endswith("] transfer")
        or ": from " in name
        or "] from " in name
        or name.startswith("exporting")
    )


def excluded(relative: str) -> bool:
    parts = relative.split("/")
    return parts[0] == ".git" or "docs" in parts or "node_modules" in parts


def describe(path: Path) -> tuple:
    info = os.lstat(path)
    kind = stat.S_IFMT(info.st_mode)
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return ("dir", mode)
    if stat.S_ISREG(info.st_mode):
        return ("file", mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return ("other", kind, mode)


def tree(root: Path, *, skip=lambda relative: False) -> dict[str, tuple]:
    entries: dict[str, tuple] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            if skip(relative):
                if name in dirnames:
                    dirnames.remove(name)
                continue
            entries[relative] = describe(path)
    return entries


def expected_tree(context: Path) -> dict[str, tuple]:
    manifest = load_manifest(context / ".pipeline" / "manifest.yaml", context)
    expected: dict[str, tuple] = {}
    # Parents come first in the manifest; a nested component lands over them.
    # A Blubber component's files are its build's output: checked apart.
    for component in manifest.components:
        if component.builder != "copy":
            continue
        prefix = "" if component.destination == "." else component.destination + "/"
        parts = prefix.rstrip("/").split("/") if prefix else []
        for depth in range(1, len(parts) + 1):
            expected.setdefault("/".join(parts[:depth]), ("dir", 0o755))
        source_tree = tree(context / component.source, skip=excluded)
        for relative, entry in source_tree.items():
            expected[prefix + relative] = entry
    return expected


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return prepare_example(tmp_path_factory.mktemp("example") / "superproject")


def test_export_matches_sources_minus_excludes(example, tmp_path):
    build(example, f"type=local,dest={tmp_path}")

    exported = tree(tmp_path / ROOT, skip=lambda path: path.startswith(POPUPS))
    expected = expected_tree(example)
    missing = sorted(set(expected) - set(exported))
    extra = sorted(set(exported) - set(expected))
    different = sorted(
        p for p in expected if p in exported and exported[p] != expected[p]
    )

    assert missing == []
    assert extra == []
    assert different == []


def test_blubber_component_lands_built(example, tmp_path):
    build(example, f"type=local,dest={tmp_path}")
    popups = tmp_path / ROOT / POPUPS
    source = example / POPUPS

    built = popups / "resources" / "dist" / "index.js"
    assert built.is_file()
    assert built.stat().st_size > 0
    for name in POPUPS_SOURCES:
        expected = tree(source / name) if (source / name).is_dir() else {}
        exported = tree(popups / name) if (popups / name).is_dir() else {}
        expected.pop("dist", None)
        exported = {k: v for k, v in exported.items() if not k.startswith("dist")}
        assert exported == expected, name
    assert (popups / "package.json").is_file()
    assert not (popups / "node_modules").exists()
    assert not (popups / "docs").exists()
    assert not (popups / ".pipeline").exists()


def test_export_keeps_links_modes_and_names(example, tmp_path):
    build(example, f"type=local,dest={tmp_path}")
    root = tmp_path / ROOT

    links = [p for p in root.rglob("*") if p.is_symlink()]
    executables = [p for p in root.rglob("*") if p.is_file() and os.access(p, os.X_OK)]
    empty_dirs = [p for p in root.rglob("*") if p.is_dir() and not any(p.iterdir())]
    spaced = [p for p in root.rglob("* *")]
    non_ascii = [p for p in root.rglob("*") if not p.name.isascii()]

    assert links
    assert executables
    assert empty_dirs
    assert spaced
    assert non_ascii
    assert not list(root.rglob("node_modules"))
    assert not (root / ".git").exists()


def image_layers(name: str) -> list[str]:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", name],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def test_uncached_rebuilds_give_same_layers(example):
    # Each destination and the directories above it get a fixed time, and
    # the files keep their own, so only the layer with the Popups build
    # output (written by npm at build time) differs. Both builds skip the
    # cache: a cached copy may come from another tree with other times,
    # because BuildKit's copy cache keys leave modification times out.
    first = "flense-test/example:same-layers-1"
    second = "flense-test/example:same-layers-2"
    build_uncached(example, f"type=image,name={first}")
    build_uncached(example, f"type=image,name={second}")

    before = image_layers(first)
    after = image_layers(second)
    assert len(after) == len(before)
    assert len(set(after) - set(before)) == 1


def test_rebuild_without_change_reruns_nothing(example):
    build(example, "type=image,name=flense-test/example:rebuild")
    outcome = build(example, "type=image,name=flense-test/example:rebuild")

    rerun = [
        vertex.name
        for vertex in outcome.vertices
        if not vertex.cached and not always_runs(vertex.name)
    ]
    assert rerun == []
    resent = {t.include_patterns: t.files_sent for t in outcome.transfers}
    assert set(resent.values()) == {0}


def test_one_file_change_reruns_one_component(example):
    build(example, "type=image,name=flense-test/example:change")
    changed = example / "extensions" / "ParserFunctions" / "extension.json"
    original = changed.read_bytes()
    try:
        # Content the build cache has never seen, or the copy would be cached.
        changed.write_bytes(original + f"\n{uuid.uuid4()}\n".encode())
        outcome = build(example, "type=image,name=flense-test/example:change")
    finally:
        changed.write_bytes(original)

    rerun = sorted(
        vertex.name
        for vertex in outcome.vertices
        if not vertex.cached and not always_runs(vertex.name)
    )
    copies = [name for name in rerun if name.endswith("] copy")]
    assert len(copies) == 1
    assert "extensions/ParserFunctions" in copies[0]
    assert [name for name in rerun if name not in copies] == ["merge 7 layers"]
    sent = {t.include_patterns: t.files_sent for t in outcome.transfers}
    assert sent.pop(("extensions/ParserFunctions",)) == 1
    assert set(sent.values()) == {0}


def test_compile_output_builds_as_buildctl_would(example, tmp_path):
    # What `flense compile M | buildctl build --local context=. --output
    # type=local,dest=D` does: the CLI's bytes, solved with the one local
    # directory named "context".
    from flense.engine.client import Client
    from flense.engine.outputs import Output

    compiled = subprocess.run(
        [
            str(Path(sys.executable).parent / "flense"),
            "compile",
            ".pipeline/manifest.yaml",
        ],
        cwd=example,
        check=True,
        capture_output=True,
    ).stdout
    with Client.connect() as client:
        client.solve(
            compiled,
            local_dirs={"context": example},
            outputs=[Output("local", {}, str(tmp_path / "buildctl"))],
        )
    build(example, f"type=local,dest={tmp_path / 'flense'}")

    from_buildctl = tree(tmp_path / "buildctl" / ROOT)
    from_flense = tree(tmp_path / "flense" / ROOT)
    assert from_buildctl
    assert from_buildctl == from_flense
