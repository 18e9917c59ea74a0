"""Read a manifest file, check every value, and build the Manifest."""

from __future__ import annotations

import logging
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from flense.errors import Location, UserInputError
from flense.manifest import paths, schema
from flense.manifest.gitremote import check_git_remote
from flense.manifest.model import Component, Manifest
from flense.manifest.nodes import (
    as_list,
    as_mapping,
    as_string,
    check_keys,
    key_or_value_location,
    quote,
    suggest,
)
from flense.patterns import PatternMatcher, PatternSyntaxError, normalize
from flense.yamlfile import Node, describe, load_yaml, read_file, with_source_text

logger = logging.getLogger(__name__)


def load_manifest(path: Path, context: Path, data: bytes | None = None) -> Manifest:
    """Load and validate the manifest at ``path``.

    ``data`` is the manifest's bytes when the caller has read them already
    (from standard input, for example). Then ``path`` only names the
    manifest in error locations. Source paths resolve against ``context``,
    the build context directory. Raises UserInputError, located in the
    manifest, for every invalid value.
    """
    context = _resolve_context(context)
    if data is None:
        data = read_file(path)
    try:
        return _parse_manifest(path, context, data)
    except UserInputError as error:
        # The error quotes its line from these bytes, because a pipe cannot
        # be read a second time.
        quoting = with_source_text(error, path, data)
        if quoting is error:
            raise
        raise quoting from error


def _parse_manifest(path: Path, context: Path, data: bytes) -> Manifest:
    root_node = load_yaml(path, data)
    if root_node.kind == "null":
        raise UserInputError(
            "the manifest is empty; it needs the keys destination and components",
            root_node.location,
        )
    top = as_mapping(root_node, "the manifest")
    check_keys(top, schema.TOP_LEVEL_KEYS)

    destination_node = _require(
        top,
        "destination",
        root_node,
        "with root, the directory in the image that the components go into",
    )
    root, exclude = _read_destination(destination_node)
    defaults = _read_defaults(top.get("defaults"))

    components_node = _require(
        top, "components", root_node, "with the list of component directories"
    )
    entries = _as_components_list(components_node)
    components = tuple(
        _read_component(entry, defaults, root, context) for entry in entries
    )
    _check_unique_destinations(entries, components)
    _check_nested_destinations(entries, components, context, exclude)

    logger.debug(
        "loaded manifest %s: %d components, context %s",
        path,
        len(components),
        context,
    )
    return Manifest(
        path=path,
        context=context,
        root=root,
        exclude=exclude,
        components=components,
    )


def _resolve_context(context: Path) -> Path:
    resolved = context.resolve()
    if not resolved.is_dir():
        raise UserInputError(
            f"build context {context} is not a directory; pass --context with the "
            "directory that the component sources are relative to"
        )
    return resolved


def _require(mapping: dict[str, Node], key: str, parent: Node, purpose: str) -> Node:
    node = mapping.get(key)
    if node is None:
        raise UserInputError(
            f'missing key "{key}"; add {key} {purpose}',
            key_or_value_location(parent),
        )
    return node


# --- destination -------------------------------------------------------------


def _read_destination(node: Node) -> tuple[str, tuple[str, ...]]:
    mapping = as_mapping(node, "destination")
    check_keys(mapping, schema.DESTINATION_KEYS)

    root_node = _require(
        mapping,
        "root",
        node,
        "with the absolute path in the image, such as /srv/mediawiki",
    )
    root = paths.normalize_root(
        as_string(root_node, "destination.root"), root_node.location
    )

    exclude_node = mapping.get("exclude")
    if exclude_node is None or exclude_node.kind == "null":
        return root, ()
    items = as_list(exclude_node, "destination.exclude")
    return root, tuple(_read_pattern(item) for item in items)


def _read_pattern(node: Node) -> str:
    pattern = as_string(node, "a destination.exclude pattern")
    paths.reject_control_characters(pattern, "exclude pattern", node.location)
    normalized = normalize(pattern)
    if not normalized:
        raise UserInputError(
            f"exclude pattern {quote(pattern)} is blank; remove it", node.location
        )
    try:
        PatternMatcher([normalized])
    except PatternSyntaxError as error:
        raise UserInputError(
            f"invalid exclude pattern {quote(pattern)}: {error.reason}; "
            "fix or remove it",
            node.location,
        ) from error
    return normalized


# --- defaults ----------------------------------------------------------------


def _read_defaults(node: Node | None) -> dict[str, Node]:
    if node is None or node.kind == "null":
        return {}
    mapping = as_mapping(node, "defaults")
    for key, value in mapping.items():
        if key in schema.IDENTITY_FIELDS:
            raise UserInputError(
                f"defaults cannot set {key}; every component names its own {key}",
                key_or_value_location(value),
            )
    check_keys(mapping, schema.DEFAULTS_KEYS)

    for key, value in mapping.items():
        text = as_string(value, f"defaults.{key}")
        if key == "builder":
            _check_builder(text, value)
    return mapping


# --- components --------------------------------------------------------------


def _as_components_list(node: Node) -> list[Node]:
    if node.kind == "null":
        raise UserInputError(
            "components is empty; list at least one component directory",
            key_or_value_location(node),
        )
    entries = as_list(node, "components")
    if not entries:
        raise UserInputError(
            "components is empty; list at least one component directory",
            node.location,
        )
    return entries


@dataclass(frozen=True)
class _Setting:
    """A component field's value and where it came from."""

    key: str
    text: str
    node: Node
    from_defaults: bool

    def where(self) -> str:
        """Return a message suffix naming the defaults line, if it came from there."""
        if not self.from_defaults:
            return ""
        location = key_or_value_location(self.node)
        return f" ({self.key} set in defaults on line {location.line})"


def _read_component(
    entry: Node, defaults: dict[str, Node], root: str, context: Path
) -> Component:
    fields = _component_fields(entry)
    location = entry.location
    if "git" in fields:
        return _read_git_component(fields, defaults, root, location)

    source_node = fields["source"]
    source_text = as_string(source_node, "source")
    source = paths.check_source(source_text, context, source_node.location)

    destination_node = fields.get("destination")
    if destination_node is None:
        destination = paths.normalize_destination(
            source_text, root, source_node.location
        )
    else:
        destination = paths.normalize_destination(
            as_string(destination_node, "destination"),
            root,
            destination_node.location,
        )

    builder = _setting(fields, defaults, "builder")
    if builder is None:
        builder_name = schema.DEFAULT_BUILDER
    else:
        builder_name = builder.text
        _check_builder(builder_name, builder.node)
    allowed = schema.BUILDERS[builder_name]

    for key, value in fields.items():
        if key in schema.COMMON_FIELDS or key in allowed.allowed:
            continue
        takers = " or ".join(schema.builders_allowing(key))
        raise UserInputError(
            f"{key} is not a field of {builder_name} components; remove it, or "
            f"set builder: {takers}",
            key_or_value_location(value),
        )

    values: dict[str, str | None] = {
        spec.attribute: None for spec in schema.FIELDS.values()
    }
    variant_location: Location | None = None
    for key in allowed.allowed:
        spec = schema.FIELDS[key]
        setting = _setting(fields, defaults, key)
        if setting is None and key in allowed.required:
            origin = builder.where() if builder is not None else ""
            raise UserInputError(
                f"{builder_name} component {quote(source_text)}{origin} has no "
                f"{key}; add {key}: with {spec.purpose}",
                location,
            )
        if setting is None:
            values[spec.attribute] = _check_default_field(
                key, allowed.optional[key], builder_name, source, context, location
            )
            continue
        error_location = location if setting.from_defaults else setting.node.location
        if key == "variant":
            variant_location = error_location
        if spec.kind == "source_file":
            values[spec.attribute] = _check_source_file(
                key, setting, source, context, error_location
            )
        else:
            values[spec.attribute] = setting.text

    return Component(
        source=source,
        destination=destination,
        builder=builder_name,
        config_path=values["config_path"],
        variant=values["variant"],
        location=location,
        variant_location=variant_location,
    )


def _component_fields(entry: Node) -> dict[str, Node]:
    """Return a component entry's fields; a bare string is its source."""
    if entry.kind == "str":
        return {"source": entry}
    if entry.kind != "map":
        hint = ""
        if entry.kind in ("bool", "int", "float"):
            hint = "; put the path in quotes"
        raise UserInputError(
            "a component must be a directory path or a mapping with a source, "
            f"not {describe(entry)}{hint}",
            entry.location,
        )
    fields = as_mapping(entry, "a component")
    check_keys(fields, schema.COMPONENT_KEYS)
    if "source" in fields and "git" in fields:
        raise UserInputError(
            "component has both source and git; keep source for a directory in "
            "the build context, or git for a remote repository",
            key_or_value_location(fields["git"]),
        )
    if "source" not in fields and "git" not in fields:
        raise UserInputError(
            "component has no source; add source: with its directory, relative "
            "to the build context, or git: with a remote repository URL",
            entry.location,
        )
    return fields


def _read_git_component(
    fields: dict[str, Node], defaults: dict[str, Node], root: str, location: Location
) -> Component:
    """Read a component whose files come from a git remote, fetched by the engine.

    Only the copy builder takes one: a Blubber config would have to be read
    from the repository before the build.
    """
    git_node = fields["git"]
    remote = as_string(git_node, "git")
    paths.reject_control_characters(remote, "git", git_node.location)
    check_git_remote(remote, git_node.location)

    destination_node = fields.get("destination")
    if destination_node is None:
        raise UserInputError(
            f"git component {quote(remote)} has no destination; add destination: "
            "with the directory under the root that its files go into",
            location,
        )
    destination = paths.normalize_destination(
        as_string(destination_node, "destination"), root, destination_node.location
    )

    builder = _setting(fields, defaults, "builder")
    if builder is not None:
        _check_builder(builder.text, builder.node)
        if builder.text != "copy":
            raise UserInputError(
                f"git component {quote(remote)} uses builder {quote(builder.text)}"
                f"{builder.where()}, but git components take only the copy "
                "builder; set builder: copy, or check the repository out into "
                "the build context and use source:",
                key_or_value_location(builder.node),
            )
    for key, value in fields.items():
        if key not in schema.COMMON_FIELDS:
            raise UserInputError(
                f"{key} is not a field of git components, which take only the "
                "copy builder; remove it",
                key_or_value_location(value),
            )
    return Component(
        source=remote,
        destination=destination,
        builder="copy",
        config_path=None,
        variant=None,
        location=location,
        git=remote,
    )


def _setting(
    fields: dict[str, Node], defaults: dict[str, Node], key: str
) -> _Setting | None:
    node = fields.get(key)
    if node is not None:
        return _Setting(key, as_string(node, key), node, from_defaults=False)
    node = defaults.get(key)
    if node is not None:
        # Defaults were type-checked when they were read.
        text = as_string(node, f"defaults.{key}")
        return _Setting(key, text, node, from_defaults=True)
    return None


def _check_builder(name: str, node: Node) -> None:
    if name not in schema.BUILDERS:
        raise UserInputError(
            f"unknown builder {quote(name)}; {suggest(name, schema.BUILDERS)}",
            node.location,
        )


def _check_source_file(
    key: str, setting: _Setting, source: str, context: Path, location: Location
) -> str:
    try:
        return paths.check_source_file(setting.text, key, source, context, location)
    except UserInputError as error:
        if not setting.from_defaults:
            raise
        raise UserInputError(error.message + setting.where(), location) from None


def _check_default_field(
    key: str,
    value: str,
    builder: str,
    source: str,
    context: Path,
    location: Location,
) -> str:
    """Check a field that takes its built-in default, naming the default in errors."""
    if schema.FIELDS[key].kind != "source_file":
        return value
    if not os.path.lexists(context / source / value):
        raise UserInputError(
            f"{builder} component {quote(source)} has no file at the default "
            f"{key} {quote(value)}; add the file or set {key}",
            location,
        )
    try:
        return paths.check_source_file(value, key, source, context, location)
    except UserInputError as error:
        raise UserInputError(f"{error.message} (the default {key})", location) from None


def _check_unique_destinations(
    entries: list[Node], components: tuple[Component, ...]
) -> None:
    first_by_destination: dict[str, Component] = {}
    for entry, component in zip(entries, components, strict=True):
        first = first_by_destination.get(component.destination)
        if first is None:
            first_by_destination[component.destination] = component
            continue
        location = component.location
        if isinstance(entry.value, dict) and "destination" in entry.value:
            location = entry.value["destination"].location
        raise UserInputError(
            f"destination {quote(component.destination)} is also the destination "
            f"of the component on line {first.location.line}; give each "
            "component its own destination",
            location,
        )


def _check_nested_destinations(
    entries: list[Node],
    components: tuple[Component, ...],
    context: Path,
    exclude: tuple[str, ...],
) -> None:
    """Reject a nested destination that passes through a symlink or a file.

    MergeOp puts the nested component's directory over a symlink that its
    parent ships at that path, but chain assembly copies through the
    symlink into its target, so the two modes would build different images.
    Only copy components from the context are checked, because the files a
    blubber component produces, or a git remote holds, are not known before
    the build.
    """
    excluded = PatternMatcher(exclude)
    copy_parents = {
        c.destination: c for c in components if c.builder == "copy" and c.git is None
    }
    for entry, child in zip(entries, components, strict=True):
        for parent_destination in _ancestors(child.destination):
            parent = copy_parents.get(parent_destination)
            if parent is None:
                continue
            inner = _path_inside(child.destination, parent.destination)
            found = paths.find_non_directory(context / parent.source, inner)
            if found is None:
                continue
            part, kind = found
            # A path that the excludes keep out of the parent's layer cannot
            # clash. With "!" patterns it may be shipped after all.
            if not excluded.exclusions and excluded.matches(part):
                continue
            raise UserInputError(
                _nested_through_message(child, parent, part, kind, context),
                _destination_location(entry),
            )


def _ancestors(destination: str) -> list[str]:
    """Return the destinations that contain ``destination``, "." first."""
    if destination == ".":
        return []
    parts = destination.split("/")
    return ["."] + ["/".join(parts[:count]) for count in range(1, len(parts))]


def _path_inside(destination: str, parent: str) -> str:
    """Return ``destination`` relative to ``parent``, one of its ancestors."""
    if parent == ".":
        return destination
    return destination[len(parent) + 1 :]


def _nested_through_message(
    child: Component, parent: Component, part: str, kind: str, context: Path
) -> str:
    in_image = part if parent.destination == "." else f"{parent.destination}/{part}"
    subject = (
        f"destination {quote(child.destination)} passes through {quote(in_image)}, "
        f"a {kind}"
    )
    where = (
        f"in the source {quote(parent.source)} of the component on line "
        f"{parent.location.line}"
    )
    if kind != "symlink":
        return (
            f"{subject} {where}, so --assemble merge and --assemble chain would "
            "build different images; choose a destination that does not pass "
            f"through it, or exclude or remove {quote(part)} in {quote(parent.source)}"
        )
    # readlink does not follow the link.
    target = os.readlink(context / parent.source / part)
    fix = f"make {quote(part)} a directory in {quote(parent.source)}"
    remainder = child.destination[len(in_image) :]
    if not target.startswith("/"):
        suggested = posixpath.normpath(
            posixpath.join(posixpath.dirname(in_image), target) + remainder
        )
        if suggested != ".." and not suggested.startswith("../"):
            fix = (
                f"set destination: {quote(suggested)} to write into its target, "
                f"or {fix}"
            )
    return (
        f"{subject} to {quote(target)} {where}; --assemble merge would replace the "
        "symlink with a directory and --assemble chain would write through it, "
        f"so the two would build different images. {fix[0].upper()}{fix[1:]}"
    )


def _destination_location(entry: Node) -> Location:
    """Return where a component's destination is written, or its source."""
    fields = entry.value
    if isinstance(fields, dict):
        node = fields.get("destination") or fields["source"]
        return node.location
    return entry.location
