"""Rules that span several fields of one variant.

Blubber checks them on each block as written and again on the expanded
variant, because a conflict can arise from merging, e.g. a ``node`` block
inherited from the top level next to the variant's own ``builders``.
"""

from __future__ import annotations

from collections.abc import Callable

from flense.blubber.config import Builder, Config, Node, Php, Python, Variant
from flense.errors import Location, UserInputError

__all__ = ["FieldLocator", "check_variant", "raw_locator"]

FieldLocator = Callable[[str], tuple[str, Location]]
"""Maps a field path inside a variant (``builder.script``) to the full
field path to report and its location."""


def raw_locator(prefix: str, config: Config) -> FieldLocator:
    """Locate fields of one block as written in the file."""

    def locate(field: str) -> tuple[str, Location]:
        full = f"{prefix}.{field}" if prefix else field
        return full, config.location_of(full)

    return locate


def check_variant(
    variant: Variant, prefix: str, config: Config, locate: FieldLocator | None = None
) -> None:
    """Raise UserInputError if ``variant`` breaks a cross-field rule."""
    locate = locate or raw_locator(prefix, config)

    if variant.builders:
        for key, block in (
            ("node", variant.node),
            ("php", variant.php),
            ("python", variant.python),
            ("builder", variant.builder),
        ):
            if block != type(block)():
                path, location = locate(key)
                builders_path, _ = locate("builders")
                raise UserInputError(
                    f"{path}: cannot be combined with {builders_path} in one "
                    f"variant (after includes are merged); move the {key} "
                    "settings into a builders entry",
                    location,
                )

    _check_builder(variant.builder, "builder", locate)
    for index, entry in enumerate(variant.builders):
        if isinstance(entry, Builder):
            _check_builder(entry, f"builders[{index}].custom", locate)
        else:
            assert isinstance(entry, Node | Php | Python)


def _check_builder(builder: Builder, field: str, locate: FieldLocator) -> None:
    if builder.command and builder.script:
        path, location = locate(f"{field}.script")
        command_path, _ = locate(f"{field}.command")
        raise UserInputError(
            f"{path}: cannot be combined with {command_path}; a builder runs "
            "either a command or a script, so remove one",
            location,
        )
