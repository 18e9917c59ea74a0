"""Checks on the output of a Blubber variant built as a manifest component.

A manifest component built with ``builder: blubber`` contributes the
contents of its variant's ``lives.in`` directory. When that directory does
not exist in the variant's final filesystem, BuildKit fails only at build
time, with a checksum error that does not name the variant.
"""

from __future__ import annotations

from collections.abc import Sequence

from flense.blubber import paths
from flense.blubber.config import Config
from flense.blubber.expand import Expansion
from flense.blubber.instructions import CopyFrom, CopyLocal, Stage
from flense.blubber.quoting import go_quote
from flense.errors import UserInputError

__all__ = ["check_output_directory"]


def check_output_directory(
    config: Config, expansion: Expansion, stages: Sequence[Stage]
) -> None:
    """Raise UserInputError when the target's ``lives.in`` is never created.

    ``stages`` are ``compile_expansion(expansion)``. Only variants without a
    base are checked, because their result is certain. Such a variant starts
    from an empty filesystem and only its copies add files, so ``lives.in``
    can exist only if a copy writes to it, below it or to one of its parents.
    """
    target = expansion.stages[-1]
    stage = stages[-1]
    assert stage.name == target.name, "the target is the last stage"
    if not target.is_scratch:
        # NOTE: a variant with a base runs "mkdir -p" on lives.in as root, so
        # the directory exists unless a later builder command removes or
        # replaces it, which is not checked.
        return

    directory = paths.clean(target.lives.in_)
    for instruction in stage.instructions:
        if isinstance(instruction, CopyLocal | CopyFrom) and _may_create(
            paths.clean(instruction.destination), directory
        ):
            return

    written = target.lives.in_
    raise UserInputError(
        f"variants.{target.name}: lives.in {go_quote(written)} is never created in "
        "this variant (it has no base, and no copy writes there): set lives.in to "
        f"where the copies go, or copy into {written}",
        config.location_of(f"variants.{target.name}#key"),
    )


def _may_create(destination: str, directory: str) -> bool:
    """Report whether a copy to ``destination`` can create ``directory``.

    A copy creates its destination and the destination's parents. A copy
    into a parent of ``directory`` may create it too, because the copied
    files are not known before the build.
    """
    if destination == directory or destination.startswith(directory + "/"):
        return True
    parent = destination if destination.endswith("/") else destination + "/"
    return directory.startswith(parent)
