"""Graph shape of a compiled manifest: locals, filters, groups and the merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flense import llb
from flense.assemble import LayerBudgetError, place, plan_groups
from flense.builders import ComponentOutput
from flense.compose import compose
from flense.errors import Location, UserInputError
from flense.manifest import load_manifest
from flense.manifest.model import Component

MANIFEST = """\
destination:
  root: /srv/mediawiki
  exclude:
    - .git
    - "**/node_modules"
    - "!keep.txt"
components:
  - source: core
    destination: .
  - extensions/Cite
  - extensions/Popups
  - skins/Vector
"""


def make_context(tmp_path: Path, manifest: str = MANIFEST) -> Path:
    for directory in ("core", "extensions/Cite", "extensions/Popups", "skins/Vector"):
        (tmp_path / directory).mkdir(parents=True)
        (tmp_path / directory / "README").write_text(directory)
    (tmp_path / ".pipeline").mkdir()
    (tmp_path / ".pipeline" / "manifest.yaml").write_text(manifest)
    return tmp_path


def compile_ops(context: Path, max_layers: int = 100, mode: str = "merge") -> list:
    manifest = load_manifest(context / ".pipeline" / "manifest.yaml", context)
    definition = llb.marshal(compose(manifest, max_layers=max_layers, mode=mode))
    return definition.ops


def kind(op) -> str:
    return op.WhichOneof("op") or "terminal"


def test_one_local_per_component(tmp_path):
    ops = compile_ops(make_context(tmp_path))
    locals_ = [entry.op.source for entry in ops if kind(entry.op) == "source"]

    includes = sorted(json.loads(s.attrs["local.includepattern"])[0] for s in locals_)
    assert includes == ["core", "extensions/Cite", "extensions/Popups", "skins/Vector"]
    assert {s.identifier for s in locals_} == {"local://context"}


def test_local_excludes_anchored_in_component(tmp_path):
    ops = compile_ops(make_context(tmp_path))
    cite = next(
        entry.op.source
        for entry in ops
        if kind(entry.op) == "source"
        and entry.op.source.attrs["local.includepattern"] == '["extensions/Cite"]'
    )

    excludes = json.loads(cite.attrs["local.excludepatterns"])
    assert excludes == [
        "extensions/Cite/.git",
        "extensions/Cite/**/node_modules",
        "!extensions/Cite/keep.txt",
    ]
    assert cite.attrs["local.sharedkeyhint"] == "flense:extensions/Cite"


def test_merge_joins_groups_parent_first(tmp_path):
    ops = compile_ops(make_context(tmp_path))
    by_digest = {entry.digest: entry for entry in ops}
    merges = [entry for entry in ops if kind(entry.op) == "merge"]

    assert len(merges) == 1
    merge = merges[0].op
    assert [m.input for m in merge.merge.inputs] == list(range(len(merge.inputs)))
    first = by_digest[merge.inputs[0].digest]
    assert first.metadata.description["llb.customname"] == "[core] copy"
    assert len(merge.inputs) == 4


def test_group_copies_land_under_root(tmp_path):
    ops = compile_ops(make_context(tmp_path))
    copies = [
        action.copy
        for entry in ops
        if kind(entry.op) == "file"
        for action in entry.op.file.actions
        if action.WhichOneof("action") == "copy" and action.copy.timestamp == -1
    ]

    destinations = sorted(copy.dest for copy in copies)
    assert destinations == [
        "/srv/mediawiki",
        "/srv/mediawiki/extensions/Cite",
        "/srv/mediawiki/extensions/Popups",
        "/srv/mediawiki/skins/Vector",
    ]
    for copy in copies:
        assert copy.dirCopyContents
        assert copy.createDestPath
        assert not copy.followSymlink
        assert copy.mode == -1
        assert copy.timestamp == -1


def test_group_directories_reset_to_fixed_time(tmp_path):
    ops = compile_ops(make_context(tmp_path))
    resets = [
        action.copy
        for entry in ops
        if kind(entry.op) == "file"
        for action in entry.op.file.actions
        if action.WhichOneof("action") == "copy" and action.copy.timestamp != -1
    ]

    assert sorted(copy.dest for copy in resets) == [
        "/srv",
        "/srv",
        "/srv",
        "/srv",
        "/srv/mediawiki",
        "/srv/mediawiki",
        "/srv/mediawiki",
        "/srv/mediawiki",
        "/srv/mediawiki/extensions",
        "/srv/mediawiki/extensions",
        "/srv/mediawiki/extensions/Cite",
        "/srv/mediawiki/extensions/Popups",
        "/srv/mediawiki/skins",
        "/srv/mediawiki/skins/Vector",
    ]
    for copy in resets:
        assert copy.src == "/"
        assert copy.timestamp == 0
        assert list(copy.exclude_patterns) == ["*"]
        assert copy.dirCopyContents
        assert not copy.createDestPath


def test_group_copies_start_from_scratch(tmp_path):
    ops = compile_ops(make_context(tmp_path))
    for entry in ops:
        if kind(entry.op) == "file":
            assert entry.op.file.actions[0].input == -1


def test_compile_is_byte_stable(tmp_path):
    context = make_context(tmp_path)
    manifest = load_manifest(context / ".pipeline" / "manifest.yaml", context)

    first = llb.marshal(compose(manifest, max_layers=100)).to_bytes()
    second = llb.marshal(compose(manifest, max_layers=100)).to_bytes()

    assert first == second


def test_chain_mode_has_no_merge(tmp_path):
    ops = compile_ops(make_context(tmp_path), mode="chain")

    assert not [entry for entry in ops if kind(entry.op) == "merge"]
    files = [entry for entry in ops if kind(entry.op) == "file"]
    assert len(files) == 4
    chained = [entry for entry in files if entry.op.file.actions[0].input != -1]
    assert len(chained) == 3


def _placements(destinations: list[str]):
    placements = []
    for destination in destinations:
        component = Component(
            source=destination if destination != "." else "core",
            destination=destination,
            builder="copy",
            config_path=None,
            variant=None,
            location=Location("manifest.yaml", 1, 1),
        )
        output = ComponentOutput(state=llb.scratch(), path="/")
        placements.append(place("/srv/mediawiki", component, output))
    return placements


def _group_sets(groups) -> set[frozenset[str]]:
    return {frozenset(p.target for p in group.placements) for group in groups}


EXTENSIONS = [f"extensions/E{number:03d}" for number in range(190)]


def test_groups_stay_within_budget():
    groups = plan_groups(_placements([".", *EXTENSIONS]), max_layers=20)

    assert len(groups) <= 20
    assert groups[0].placements[0].target == "/srv/mediawiki"
    assert sum(len(group.placements) for group in groups) == 191


def test_change_one_component_changes_one_group():
    before = _group_sets(plan_groups(_placements([".", *EXTENSIONS]), 20))
    after = _group_sets(
        plan_groups(_placements([".", *EXTENSIONS, "extensions/New"]), 20)
    )

    assert len(after - before) == 1
    assert len(before - after) <= 1


def test_remove_one_component_changes_one_group():
    before = _group_sets(plan_groups(_placements([".", *EXTENSIONS]), 20))
    after = _group_sets(plan_groups(_placements([".", *EXTENSIONS[1:]]), 20))

    assert len(before - after) == 1
    assert len(after - before) <= 1


def test_nested_anchor_after_parent():
    groups = plan_groups(
        _placements(["extensions/VE/lib/x", "extensions/VE", ".", "skins/A"]), 10
    )

    targets = [group.placements[0].target for group in groups[:2]]
    assert targets == ["/srv/mediawiki", "/srv/mediawiki/extensions/VE"]


def test_budget_below_anchors_keeps_order():
    placements = _placements([".", "extensions/VE", "extensions/VE/x", "skins/A"])

    groups = plan_groups(placements, 2)

    assert len(groups) == 2
    order = [p.target for group in groups for p in group.placements]
    assert order == [
        "/srv/mediawiki",
        "/srv/mediawiki/extensions/VE",
        "/srv/mediawiki/extensions/VE/x",
        "/srv/mediawiki/skins/A",
    ]


def test_single_layer_budget():
    groups = plan_groups(_placements([".", *EXTENSIONS]), 1)

    assert len(groups) == 1
    assert groups[0].placements[0].target == "/srv/mediawiki"
    assert len(groups[0].placements) == 191


def test_budget_must_be_positive():
    with pytest.raises(LayerBudgetError, match="at least 1"):
        plan_groups(_placements(["."]), 0)


def test_blubber_output_never_created(tmp_path):
    component = tmp_path / "ext" / "S"
    (component / ".pipeline").mkdir(parents=True)
    (component / "s.txt").write_text("s")
    (component / ".pipeline" / "blubber.yaml").write_text(
        "version: v4\nvariants:\n  site:\n    lives:\n      in: /dist\n"
        "    copies:\n      - from: local\n        source: s.txt\n"
        "        destination: /elsewhere/s.txt\n"
    )
    (tmp_path / "manifest.yaml").write_text(
        "destination:\n  root: /srv/mw\ncomponents:\n  - source: ext/S\n"
        "    builder: blubber\n    variant: site\n"
    )
    manifest = load_manifest(tmp_path / "manifest.yaml", tmp_path)

    with pytest.raises(UserInputError, match='lives.in "/dist" is never created'):
        compose(manifest, max_layers=10)
