"""Assembly: place every component's output under the destination root.

Each component's files are copied onto an empty filesystem, so a component
never carries its builder's base image into the final image, and the copies
are grouped into at most ``max_layers`` layers joined by one MergeOp.

Grouping is deterministic and stable under change:

* An *anchor* is a component whose destination contains another
  component's destination (MediaWiki core at ``.``). Each anchor gets a group
  of its own, ordered parents first, so a nested component's files always
  land over its parent's.
* Every other component (a *leaf*) goes to slot ``sha256(destination) mod S``
  where ``S`` is the budget left after the anchors. Leaves never nest, so
  their relative order does not matter. Changing, adding or removing a leaf
  changes exactly one group; the others keep their cache keys and layers.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from flense import llb
from flense.builders import ComponentOutput
from flense.manifest import Component

log = logging.getLogger(__name__)

# overlay2 refuses to run an image with more than about 120 layers
# (moby/moby#26380). 100 leaves room for images built on top of ours.
DEFAULT_MAX_LAYERS = 100

AssembleMode = Literal["merge", "chain"]


@dataclass(frozen=True)
class Placement:
    """A built component and the absolute path its files land at."""

    component: Component
    output: ComponentOutput
    target: str


@dataclass(frozen=True)
class Group:
    """Components whose copies form one layer of the final image."""

    index: int
    placements: tuple[Placement, ...]

    @property
    def name(self) -> str:
        names = [placement.component.name for placement in self.placements]
        shown = ", ".join(names[:3])
        if len(names) > 3:
            shown += f" and {len(names) - 3} more"
        return f"[{shown}] copy"

    @property
    def description(self) -> dict[str, str]:
        """Vertex description entries that tie the group to its components."""
        names = ", ".join(placement.component.name for placement in self.placements)
        return {"flense.component": names}


class LayerBudgetError(ValueError):
    """The layer budget is not a positive number."""


def place(root: str, component: Component, output: ComponentOutput) -> Placement:
    """Pair a component's output with the absolute path it lands at."""
    target = posixpath.normpath(posixpath.join(root, component.destination))
    return Placement(component, output, target)


def plan_groups(placements: Sequence[Placement], max_layers: int) -> list[Group]:
    """Split placements into at most ``max_layers`` groups, in merge order."""
    if max_layers < 1:
        raise LayerBudgetError(f"the layer budget must be at least 1, not {max_layers}")

    targets = [placement.target for placement in placements]
    anchors = [p for p in placements if _contains_another(p.target, targets)]
    leaves = [p for p in placements if p not in anchors]

    # Parents before children; the manifest order breaks ties.
    anchors.sort(key=lambda p: _depth(p.target))

    slots = max_layers - len(anchors)
    if slots < 1 and leaves:
        return _split_in_order(anchors, leaves, max_layers)

    groups = [Group(index, (anchor,)) for index, anchor in enumerate(anchors)]
    buckets: dict[int, list[Placement]] = {}
    for leaf in leaves:
        buckets.setdefault(_slot(leaf.target, slots), []).append(leaf)
    for slot in sorted(buckets):
        members = sorted(buckets[slot], key=lambda p: p.target)
        groups.append(Group(len(groups), tuple(members)))
    return groups


def _split_in_order(
    anchors: list[Placement], leaves: list[Placement], max_layers: int
) -> list[Group]:
    """Cut the whole merge order into ``max_layers`` consecutive groups.

    Used when the budget cannot give every anchor a layer of its own. Groups
    then shift when a component is added or removed, so more than one layer
    may change. A budget above the number of anchors avoids that.
    """
    ordered = anchors + sorted(leaves, key=lambda p: p.target)
    log.info(
        "a budget of %d layers is below the %d components that contain others "
        "plus one, so components are grouped in merge order",
        max_layers,
        len(anchors),
    )
    size, remainder = divmod(len(ordered), max_layers)
    groups: list[Group] = []
    start = 0
    for index in range(max_layers):
        end = start + size + (1 if index < remainder else 0)
        if end > start:
            groups.append(Group(len(groups), tuple(ordered[start:end])))
        start = end
    return groups


def assemble(groups: Sequence[Group], *, mode: AssembleMode = "merge") -> llb.State:
    """Return the final filesystem: every group's copies, in order.

    ``merge`` copies each group onto scratch and joins the groups with one
    MergeOp (BuildKit 0.10 and later), so a changed group is rebuilt and
    re-exported alone. ``chain`` applies the groups one after another, for
    engines without MergeOp; there a change re-runs every later group.
    """
    if mode == "merge":
        layers = [
            llb.scratch().file(
                _copies(group), name=group.name, description=group.description
            )
            for group in groups
        ]
        return llb.merge(layers, name=f"merge {len(layers)} layers")
    state = llb.scratch()
    for group in groups:
        state = state.file(
            _copies(group), name=group.name, description=group.description
        )
    return state


# Modification time of each destination directory and of the directories
# above it: a fixed one, so the same files give the same layer digests in
# every build.
FIXED_DIRECTORY_MTIME = 0


def _copies(group: Group) -> llb.FileAction:
    action: llb.FileAction | None = None
    for placement in group.placements:
        output = placement.output
        options = {
            "copy_dir_contents": True,
            "create_dest_path": True,
            "exclude": output.exclude,
        }
        if action is None:
            action = llb.copy(output.state, output.path, placement.target, **options)
        else:
            action = action.copy(output.state, output.path, placement.target, **options)
    assert action is not None, "a group always has at least one placement"

    # BuildKit 0.13 gives each destination directory, and the directories it
    # creates above it, the time of the build. Copying a directory onto an
    # existing one, with no children and with a timestamp, sets just that
    # time. Any directory serves as the source, so the group's first output
    # does and the op gains no input.
    source = group.placements[0].output.state
    for directory in _fixed_time_directories(group):
        action = action.copy(
            source,
            "/",
            directory,
            copy_dir_contents=True,
            exclude=["*"],
            timestamp=FIXED_DIRECTORY_MTIME,
        )
    return action


def _fixed_time_directories(group: Group) -> list[str]:
    """Return the group's destinations and every directory above them."""
    directories: set[str] = set()
    for placement in group.placements:
        directory = placement.target
        while directory != "/":
            directories.add(directory)
            directory = posixpath.dirname(directory)
    return sorted(directories)


def _contains_another(target: str, targets: Sequence[str]) -> bool:
    prefix = target.rstrip("/") + "/"
    return any(other.startswith(prefix) for other in targets if other != target)


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


def _slot(target: str, slots: int) -> int:
    digest = hashlib.sha256(target.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % slots
