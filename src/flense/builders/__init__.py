"""Component builders: each turns one manifest component into an LLB subgraph.

A builder returns a :class:`ComponentOutput`: the state whose directory
``path`` contains exactly the files that land at the component's destination.
The assembler copies that directory into the final image; builders never
see the final image or each other's sources.
"""

from flense.builders.base import (
    BuildSettings,
    ComponentOutput,
    builder_for,
    local_unique,
)

__all__ = ["BuildSettings", "ComponentOutput", "builder_for", "local_unique"]
