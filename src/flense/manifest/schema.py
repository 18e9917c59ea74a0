"""The manifest's keys, and the component fields each builder takes.

Adding a builder is one entry in BUILDERS, plus one in FIELDS when it needs
a field no other builder has (and a matching Component attribute).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TOP_LEVEL_KEYS = ("destination", "defaults", "components")
DESTINATION_KEYS = ("root", "exclude")

# Fields every component may have, whatever its builder. A component has
# either a source directory or a git remote.
COMMON_FIELDS = ("source", "git", "destination", "builder")

# The builder of a component that sets none, in the component or in defaults.
DEFAULT_BUILDER = "copy"

# Fields that identify a component, so defaults cannot set them.
IDENTITY_FIELDS = ("source", "git", "destination")


@dataclass(frozen=True)
class FieldSpec:
    """A builder-specific component field.

    ``attribute`` is the Component attribute it fills. A "name" field takes
    any non-empty string. A "source_file" field takes the path of a file
    inside the component's source, relative to that source.
    """

    attribute: str
    kind: Literal["name", "source_file"]
    purpose: str


@dataclass(frozen=True)
class BuilderFields:
    """The builder-specific fields one builder takes.

    ``required`` fields must be set in the component or in defaults.
    ``optional`` maps each optional field to the value used when neither
    sets it.
    """

    required: tuple[str, ...] = ()
    optional: dict[str, str] = field(default_factory=dict)

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.required + tuple(self.optional)


FIELDS: dict[str, FieldSpec] = {
    "configPath": FieldSpec(
        attribute="config_path",
        kind="source_file",
        purpose="the path of the Blubber config, relative to the component's source",
    ),
    "variant": FieldSpec(
        attribute="variant",
        kind="name",
        purpose="the name of the Blubber variant to build",
    ),
}

BUILDERS: dict[str, BuilderFields] = {
    "copy": BuilderFields(),
    "blubber": BuilderFields(
        required=("variant",),
        optional={"configPath": ".pipeline/blubber.yaml"},
    ),
}

COMPONENT_KEYS = COMMON_FIELDS + tuple(FIELDS)
DEFAULTS_KEYS = tuple(key for key in COMPONENT_KEYS if key not in IDENTITY_FIELDS)


def builders_allowing(key: str) -> list[str]:
    """Return the builders that take the builder-specific field ``key``."""
    return [name for name, fields in BUILDERS.items() if key in fields.allowed]
