"""The pipeline from a loaded manifest to the final image's LLB state."""

from __future__ import annotations

import logging

from flense import llb
from flense.assemble import AssembleMode, assemble, place, plan_groups
from flense.builders import BuildSettings, builder_for, local_unique
from flense.manifest import Manifest

log = logging.getLogger(__name__)


def compose(
    manifest: Manifest,
    *,
    max_layers: int,
    mode: AssembleMode = "merge",
    single_context: bool = False,
    engine_address: str | None = None,
    nonce: str = "",
) -> llb.State:
    """Build every component's subgraph and assemble them into one state.

    ``nonce`` goes into every local source's ``local.unique`` value; see
    ``flense.builders.local_unique``.
    """
    settings = BuildSettings(
        context=manifest.context,
        exclude=manifest.exclude,
        single_context=single_context,
        engine_address=engine_address,
        local_unique=local_unique(manifest.context, nonce),
    )
    placements = []
    for component in manifest.components:
        build = builder_for(component.builder)
        output = build(component, settings)
        placements.append(place(manifest.root, component, output))

    groups = plan_groups(placements, max_layers)
    log.info(
        "assembling %d components in %d layers (%s)",
        len(placements),
        len(groups),
        mode,
    )
    return assemble(groups, mode=mode)
