"""A Blubber component reuses the cache of its standalone build."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from flense import llb
from flense.build import BuildRequest, run_build
from flense.builders.blubber import compile_variant
from flense.compose import compose
from flense.manifest import load_manifest

pytestmark = pytest.mark.engine

CONFIG = """\
version: v4
variants:
  app:
    base: flense-test/busybox-users:latest
    builder:
      command: [sh, -c, "cat lib/a.txt > built.txt"]
      requirements: [lib/]
    copies: [local]
"""

MANIFEST = """\
destination:
  root: /srv/mw
components:
  - source: ext/G
    builder: blubber
    variant: app
"""


@pytest.fixture
def superproject(tmp_path: Path) -> Path:
    component = tmp_path / "ext" / "G"
    (component / "lib").mkdir(parents=True)
    (component / ".pipeline").mkdir()
    # Content no earlier build has seen, so the first build really runs.
    (component / "lib" / "a.txt").write_text(f"{uuid.uuid4()}\n")
    (component / "main.txt").write_text(f"{uuid.uuid4()}\n")
    (component / ".pipeline" / "blubber.yaml").write_text(CONFIG)
    (tmp_path / ".pipeline").mkdir()
    (tmp_path / ".pipeline" / "manifest.yaml").write_text(MANIFEST)
    return tmp_path


def build(definition: llb.Definition, context: Path):
    return run_build(
        BuildRequest(definition=definition, context=context, progress="quiet")
    )


def test_local_copies_cached_after_standalone(superproject):
    component = superproject / "ext" / "G"
    standalone, _config = compile_variant(
        component / ".pipeline" / "blubber.yaml", "app", component
    )
    first = build(standalone, component)
    manifest = load_manifest(superproject / ".pipeline" / "manifest.yaml", superproject)
    second = build(llb.marshal(compose(manifest, max_layers=10)), superproject)

    ran_first = {v.name for v in first.vertices if not v.cached}
    steps = {
        v.name.removeprefix("[ext/G] app: "): v.cached
        for v in second.vertices
        if v.name.startswith("[ext/G] app: ") and ": from " not in v.name
    }
    assert "[app] copy context:[/] -> /srv/app" in ran_first
    assert steps['@65533 $ sh "-c" "cat lib/a.txt > built.txt"'] is True
    assert steps["copy context:[/lib] -> /srv/app/lib/"] is True
    assert steps["copy context:[/] -> /srv/app"] is True
    assert all(steps.values())
