"""Variant expansion: includes, merge rules and the stage dependency graph.

A variant expands to: the top-level block, then each included variant in
include order, then the variant itself, each merged over the result so
far. The target and every variant it takes files from (``copies``,
requirements ``from``, builder ``mounts``) become build stages, ordered
leaves first.

Two deliberate differences from Blubber 1.8:

* Every variant is expanded from the definitions as written. Blubber
  stores each expansion back in place of the definition, so a variant that
  includes an already-expanded one merges the top-level block twice
  (top-level apt packages twice, top-level custom builders run twice).
* The stage graph is built from expanded variants. Blubber expands only the
  target before building it, so files a dependency inherits through its own
  ``includes`` do not create a stage and fall back to an image pull.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from flense.blubber.config import (
    LOCAL,
    Apt,
    Artifact,
    Builder,
    BuilderEntry,
    Config,
    Lives,
    Node,
    Php,
    Poetry,
    Python,
    Runs,
    Variant,
)
from flense.blubber.decode import closest
from flense.blubber.rules import is_variant_name
from flense.blubber.validate import FieldLocator, check_variant
from flense.errors import Location, UserInputError

__all__ = [
    "Expansion",
    "dependency_order",
    "expand",
    "expand_variant",
    "include_order",
    "merge_variants",
    "variant_dependencies",
]


@dataclass(frozen=True)
class Expansion:
    """The expanded variants to build for one target, leaves first.

    ``stages[-1]`` is the target. Every other stage is a variant the target
    (directly or through other stages) takes files from.
    """

    target: str
    stages: tuple[Variant, ...]

    def stage(self, name: str) -> Variant | None:
        """Return the expanded stage called ``name``, if it is one."""
        for variant in self.stages:
            if variant.name == name:
                return variant
        return None


class _CycleError(Exception):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__(cycle)
        self.cycle = cycle


def dependency_order(
    dependencies: Callable[[str], Sequence[str]], name: str
) -> list[str]:
    """List the direct and indirect dependencies of ``name``, leaves first.

    The walk is Blubber's: depth-first, and for each direct dependency in
    order, first its own dependencies, then itself. A name met again keeps
    its first position. Raises _CycleError with the cycle's names.
    """
    order: dict[str, None] = {}
    path: list[str] = []

    def visit(key: str) -> None:
        direct = dependencies(key)
        if not direct:
            return
        if key in path:
            raise _CycleError(path[path.index(key) :] + [key])
        path.append(key)
        for dependency in direct:
            visit(dependency)
            order.setdefault(dependency, None)
        path.pop()

    visit(name)
    return list(order)


def include_order(config: Config, name: str) -> list[str]:
    """List the variants ``name`` includes, in merge order.

    Raises UserInputError for an include cycle, naming the whole cycle.
    """

    def includes(key: str) -> Sequence[str]:
        variant = config.variants.get(key)
        if variant is None:
            return ()
        return list(dict.fromkeys(variant.includes))

    try:
        return dependency_order(includes, name)
    except _CycleError as error:
        cycle = error.cycle
        steps = ", ".join(
            f"{before} includes {after}"
            for before, after in zip(cycle, cycle[1:], strict=False)
        )
        first = cycle[0]
        index = config.variants[first].includes.index(cycle[1])
        field_path = f"variants.{first}.includes[{index}]"
        raise UserInputError(
            f"{field_path}: include cycle: variants.{steps}; remove one of these "
            "includes",
            config.location_of(field_path),
        ) from None


def expand_variant(config: Config, name: str) -> Variant:
    """Merge the top level, the includes and variant ``name`` itself."""
    variant = config.variants.get(name)
    if variant is None:
        raise unknown_variant_error(config, name)
    expanded = merge_variants(
        Variant(name=name), _without_variant_fields(config.common)
    )
    for include in include_order(config, name):
        included = config.variants.get(include)
        if included is not None:
            expanded = merge_variants(expanded, included)
    return merge_variants(expanded, variant)


def unknown_variant_error(config: Config, name: str) -> UserInputError:
    """Build the error for a requested variant that the file does not define."""
    near = closest(name, config.variants)
    if near is not None:
        hint = f'did you mean "{near}"?'
    elif config.variants:
        hint = "defined variants are " + ", ".join(sorted(config.variants))
    else:
        hint = "the file defines no variants"
    return UserInputError(
        f'variants: the variant "{name}" is not defined; {hint}',
        config.location_of("variants#key"),
    )


def variant_dependencies(variant: Variant) -> list[str]:
    """List the names ``variant`` takes files from, in Blubber's order.

    The order is copies, node, php, python and builder requirements, builder
    mounts, then each builders entry. Mount sources count only when they
    look like variant names. ``local`` and image references are included;
    callers keep the names that are variants.
    """
    names: list[str] = []

    def add_artifacts(artifacts: Sequence[Artifact] | None) -> None:
        for artifact in artifacts or ():
            if artifact.from_ and artifact.from_ != LOCAL:
                names.append(artifact.from_)

    def add_builder(builder: Builder) -> None:
        add_artifacts(builder.requirements)
        for mount in builder.mounts or ():
            if is_variant_name(mount.from_) and mount.from_ != LOCAL:
                names.append(mount.from_)

    add_artifacts(variant.copies)
    add_artifacts(variant.node.requirements)
    add_artifacts(variant.php.requirements)
    add_artifacts(variant.python.requirements)
    add_builder(variant.builder)
    for entry in variant.builders:
        if isinstance(entry, Builder):
            add_builder(entry)
        else:
            add_artifacts(entry.requirements)
    return names


def expand(config: Config, name: str) -> Expansion:
    """Expand variant ``name`` and every variant it takes files from.

    Raises UserInputError for an unknown variant, an include cycle, a cycle
    between stages, or a cross-field rule that the merged values break.
    """
    if name not in config.variants:
        raise unknown_variant_error(config, name)

    expanded: dict[str, Variant] = {}

    def get(key: str) -> Variant:
        if key not in expanded:
            variant = expand_variant(config, key)
            check_variant(
                variant, f"variants.{key}", config, _merged_locator(config, key)
            )
            expanded[key] = variant
        return expanded[key]

    def stage_dependencies(key: str) -> Sequence[str]:
        found = [
            dependency
            for dependency in variant_dependencies(get(key))
            if dependency in config.variants
        ]
        return list(dict.fromkeys(found))

    try:
        order = dependency_order(stage_dependencies, name)
    except _CycleError as error:
        cycle = error.cycle
        steps = ", ".join(
            f"{before} takes files from {after}"
            for before, after in zip(cycle, cycle[1:], strict=False)
        )
        raise UserInputError(
            f"variants.{cycle[0]}: stage cycle: variants.{steps}; a variant cannot "
            "depend on its own output",
            config.location_of(f"variants.{cycle[0]}#key"),
        ) from None

    stages = tuple(get(key) for key in [*order, name])
    return Expansion(target=name, stages=stages)


def _merged_locator(config: Config, name: str) -> FieldLocator:
    """Locate a field of an expanded variant in the last block that wrote it."""
    blocks = [f"variants.{name}"]
    blocks += [
        f"variants.{include}" for include in reversed(include_order(config, name))
    ]
    blocks.append("")

    def locate(field: str) -> tuple[str, Location]:
        for prefix in blocks:
            full = f"{prefix}.{field}" if prefix else field
            if full in config.locations:
                return full, config.locations[full]
        full = f"variants.{name}.{field}"
        return full, config.location_of(full)

    return locate


def _without_variant_fields(block: Variant) -> Variant:
    return replace(block, includes=(), copies=())


# --- merge rules -------------------------------------------------------------


def merge_variants(old: Variant, new: Variant) -> Variant:
    """Merge ``new`` over ``old`` with Blubber's rules.

    Non-empty strings and non-zero integers replace, written booleans
    replace, maps merge key by key, APT lists append, replace-style lists
    replace when written (even when empty), and copies append after
    dropping older entries equal to a new one. ``includes`` is not merged.
    """
    kept_copies = tuple(
        artifact for artifact in old.copies if artifact not in new.copies
    )
    return Variant(
        name=old.name,
        includes=old.includes,
        copies=kept_copies + new.copies,
        base=new.base or old.base,
        arguments={**old.arguments, **new.arguments},
        apt=_merge_apt(old.apt, new.apt),
        builders=_merge_builders(old.builders, new.builders),
        node=_merge_node(old.node, new.node),
        php=_merge_php(old.php, new.php),
        python=_merge_python(old.python, new.python),
        builder=_merge_builder(old.builder, new.builder),
        lives=_merge_lives(old.lives, new.lives),
        runs=_merge_runs(old.runs, new.runs),
        entrypoint=new.entrypoint if new.entrypoint is not None else old.entrypoint,
    )


def _flag(old: bool | None, new: bool | None) -> bool | None:
    return old if new is None else new


def _merge_apt(old: Apt, new: Apt) -> Apt:
    packages: dict[str, tuple[str, ...]] = dict(old.packages)
    for release, names in new.packages.items():
        packages[release] = packages.get(release, ()) + names
    return Apt(packages, old.proxies + new.proxies, old.sources + new.sources)


def _merge_node(old: Node, new: Node) -> Node:
    return Node(
        requirements=new.requirements
        if new.requirements is not None
        else old.requirements,
        env=new.env or old.env,
        use_npm_ci=_flag(old.use_npm_ci, new.use_npm_ci),
        allow_dedupe_failure=_flag(old.allow_dedupe_failure, new.allow_dedupe_failure),
    )


def _merge_php(old: Php, new: Php) -> Php:
    return Php(
        requirements=new.requirements
        if new.requirements is not None
        else old.requirements,
        production=_flag(old.production, new.production),
    )


def _merge_python(old: Python, new: Python) -> Python:
    return Python(
        version=new.version or old.version,
        requirements=new.requirements
        if new.requirements is not None
        else old.requirements,
        use_system_site_packages=_flag(
            old.use_system_site_packages, new.use_system_site_packages
        ),
        no_deps=_flag(old.no_deps, new.no_deps),
        pip_version=new.pip_version or old.pip_version,
        setuptools_version=new.setuptools_version or old.setuptools_version,
        tox_version=new.tox_version or old.tox_version,
        wheel_version=new.wheel_version or old.wheel_version,
        venv=new.venv or old.venv,
        poetry=Poetry(
            version=new.poetry.version or old.poetry.version,
            devel=_flag(old.poetry.devel, new.poetry.devel),
            only=new.poetry.only or old.poetry.only,
            without=new.poetry.without or old.poetry.without,
        ),
    )


def _merge_builder(old: Builder, new: Builder) -> Builder:
    return Builder(
        command=new.command if new.command is not None else old.command,
        script=new.script or old.script,
        requirements=new.requirements
        if new.requirements is not None
        else old.requirements,
        mounts=new.mounts if new.mounts is not None else old.mounts,
        caches=new.caches if new.caches is not None else old.caches,
    )


def _merge_lives(old: Lives, new: Lives) -> Lives:
    return Lives(
        in_=new.in_ or old.in_,
        as_=new.as_ or old.as_,
        uid=new.uid or old.uid,
        gid=new.gid or old.gid,
    )


def _merge_runs(old: Runs, new: Runs) -> Runs:
    return Runs(
        as_=new.as_ or old.as_,
        uid=new.uid or old.uid,
        gid=new.gid or old.gid,
        environment={**old.environment, **new.environment},
        in_=new.in_ or old.in_,
        insecurely=_flag(old.insecurely, new.insecurely),
    )


_MERGERS: Mapping[type, Callable[..., BuilderEntry]] = {
    Node: _merge_node,
    Php: _merge_php,
    Python: _merge_python,
}


def _merge_builders(
    old: tuple[BuilderEntry, ...], new: tuple[BuilderEntry, ...]
) -> tuple[BuilderEntry, ...]:
    """Merge ``builders`` lists as Blubber does.

    A node, php or python entry present in both is merged (old under new)
    at the new entry's position. Every other old entry, custom ones
    included, is kept in order before all new entries.
    """
    position = {
        type(entry): index
        for index, entry in enumerate(new)
        if not isinstance(entry, Builder)
    }
    trailing = list(new)
    leading: list[BuilderEntry] = []
    for entry in old:
        kind = type(entry)
        if kind in position:
            index = position[kind]
            trailing[index] = _MERGERS[kind](entry, trailing[index])
        else:
            leading.append(entry)
    return tuple(leading + trailing)
