"""Read and validate a Blubber v4 file into a Config.

flense applies the rules of Blubber 1.8.0 (its JSON Schema, its strict
decoder and its struct validators) while it reads the YAML tree. It stops
at the first failure: Blubber reports every validator failure at once, but
flense raises one UserInputError for the first problem in file order. Like
Blubber, it checks ``version`` before anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from flense.blubber import paths, rules
from flense.blubber.config import (
    DEFAULT_APT_RELEASE,
    DEFAULT_LIVES,
    DEFAULT_RUNS,
    LOCAL,
    Apt,
    AptProxy,
    AptSource,
    Artifact,
    Builder,
    BuilderEntry,
    Cache,
    Config,
    Lives,
    Mount,
    Node,
    Php,
    Poetry,
    Python,
    Runs,
    Variant,
)
from flense.blubber.decode import Decoder, closest, edit_distance
from flense.blubber.quoting import RunTemplateError, format_run, go_quote
from flense.blubber.validate import check_variant
from flense.errors import UserInputError
from flense.yamlfile import Node as YamlNode
from flense.yamlfile import load_yaml

__all__ = ["SUPPORTED_VERSION", "load_config", "parse_config"]

logger = logging.getLogger(__name__)

SUPPORTED_VERSION = "v4"

_COMMON_KEYS = frozenset(
    {
        "apt",
        "arguments",
        "base",
        "builder",
        "builders",
        "entrypoint",
        "lives",
        "node",
        "php",
        "python",
        "runs",
    }
)
_TOP_KEYS = _COMMON_KEYS | {"version", "variants"}
_VARIANT_KEYS = _COMMON_KEYS | {"includes", "copies"}
_ARTIFACT_KEYS = frozenset({"from", "source", "destination", "exclude"})
_CACHE_ACCESS = ("shared", "locked", "private")


def load_config(path: Path, text: str | None = None) -> Config:
    """Read ``path`` (or ``text``, reported as ``path``) as a Blubber file."""
    return parse_config(load_yaml(Path(path), text), Path(path), text)


def parse_config(root: YamlNode, path: Path, text: str | None = None) -> Config:
    """Validate a YAML tree as Blubber v4 and build the Config.

    ``text`` is the file's text, which errors quote from; None reads
    ``path`` when an error needs it.
    """
    return _Loader(path, text).config(root)


class _Loader:
    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = path
        self.decoder = Decoder(path, text)
        self.variant_names: frozenset[str] = frozenset()

    # --- document ------------------------------------------------------------

    def config(self, root: YamlNode) -> Config:
        if root.kind == "null":
            raise UserInputError(
                f"the file is empty: a Blubber file needs at least "
                f"'version: {SUPPORTED_VERSION}'",
                root.location,
            )
        if not isinstance(root.value, dict):
            raise self.decoder.fail(root, "the top level", "expected a mapping of keys")
        version = self.version(root)
        entries = self.decoder.mapping(root, "", _TOP_KEYS)

        variants_node = entries.get("variants")
        variant_entries: dict[str, YamlNode] = {}
        if variants_node is not None:
            variant_entries = self.decoder.mapping(variants_node, "variants", None)
        self.variant_names = frozenset(variant_entries)

        common = self.block(entries, "")
        common = replace(
            common,
            lives=_apply_defaults(
                common.lives, DEFAULT_LIVES, _written(entries, "lives")
            ),
            runs=_apply_defaults(common.runs, DEFAULT_RUNS, _written(entries, "runs")),
        )

        variants: dict[str, Variant] = {}
        for name, node in variant_entries.items():
            rule = rules.check_variant_name(name)
            if rule is not None:
                raise UserInputError(
                    f"variants: {go_quote(name)} {rule}",
                    node.key_location or node.location,
                )
            body = self.decoder.mapping(node, f"variants.{name}", _VARIANT_KEYS)
            variants[name] = self.block(body, f"variants.{name}", name=name)

        config = Config(
            path=self.path,
            version=version,
            common=common,
            variants=variants,
            locations=dict(self.decoder.locations),
        )
        check_variant(common, "", config)
        for name, variant in variants.items():
            check_variant(variant, f"variants.{name}", config)
        return config

    def version(self, root: YamlNode) -> str:
        assert isinstance(root.value, dict)
        node = root.value.get("version")
        if node is None:
            raise UserInputError(
                f"version: missing; add 'version: {SUPPORTED_VERSION}' at the top "
                "of the file",
                root.location,
            )
        value = self.decoder.string(node, "version")
        if value != SUPPORTED_VERSION:
            raise self.decoder.fail_value(
                node,
                "version",
                f"is not a supported config version: flense reads Blubber "
                f"version {SUPPORTED_VERSION} files only",
            )
        return value

    # --- common and variant blocks --------------------------------------------

    def block(
        self,
        entries: dict[str, YamlNode],
        prefix: str,
        *,
        name: str = "",
    ) -> Variant:
        def at(key: str) -> str:
            return f"{prefix}.{key}" if prefix else key

        variant = Variant(name=name)
        for key, node in entries.items():
            field_path = at(key)
            match key:
                case "version" | "variants":
                    continue
                case "includes":
                    variant = replace(variant, includes=self.includes(node, field_path))
                case "copies":
                    variant = replace(variant, copies=self.copies(node, field_path))
                case "base":
                    variant = replace(variant, base=self.base(node, field_path))
                case "arguments":
                    variant = replace(
                        variant, arguments=self.environment(node, field_path)
                    )
                case "apt":
                    variant = replace(variant, apt=self.apt(node, field_path))
                case "builders":
                    variant = replace(variant, builders=self.builders(node, field_path))
                case "node":
                    variant = replace(variant, node=self.node(node, field_path))
                case "php":
                    variant = replace(variant, php=self.php(node, field_path))
                case "python":
                    variant = replace(variant, python=self.python(node, field_path))
                case "builder":
                    variant = replace(variant, builder=self.builder(node, field_path))
                case "lives":
                    variant = replace(variant, lives=self.lives(node, field_path))
                case "runs":
                    variant = replace(variant, runs=self.runs(node, field_path))
                case "entrypoint":
                    variant = replace(
                        variant, entrypoint=self.decoder.strings(node, field_path)
                    )
        return variant

    def base(self, node: YamlNode, field_path: str) -> str:
        value = self.decoder.optional_string(node, field_path)
        if value:
            self.check(rules.check_image_reference, node, field_path)
        if rules.is_scratch(value):
            # Blubber 1.8 accepts it and the build fails to pull "scratch".
            raise self.decoder.fail_value(
                node,
                field_path,
                "is not an image that can be pulled: leave out base for a "
                "variant that starts from an empty filesystem",
            )
        return value

    def includes(self, node: YamlNode, field_path: str) -> tuple[str, ...]:
        names = self.decoder.strings(node, field_path)
        items = self.decoder.sequence(node, field_path)
        for item, name in zip(items, names, strict=True):
            # Blubber accepts "local" here and ignores it unless a variant
            # has that name.
            if name in self.variant_names or name == LOCAL:
                continue
            raise self.unknown_variant(item, f"{field_path}[{items.index(item)}]", name)
        return names

    def unknown_variant(
        self, node: YamlNode, field_path: str, name: str
    ) -> UserInputError:
        near = closest(name, self.variant_names)
        if near is not None:
            hint = f'did you mean "{near}"?'
        elif self.variant_names:
            hint = "defined variants are " + ", ".join(sorted(self.variant_names))
        else:
            hint = "the file defines no variants"
        return self.decoder.fail_value(
            node, field_path, f"is not a defined variant; {hint}"
        )

    # --- artifacts ---------------------------------------------------------------

    def copies(self, node: YamlNode, field_path: str) -> tuple[Artifact, ...]:
        items = self.decoder.sequence(node, field_path)
        kinds = {item.kind for item in items}
        if "str" in kinds and "map" in kinds:
            first_map = next(item for item in items if item.kind == "map")
            raise self.decoder.fail(
                first_map,
                f"{field_path}[{items.index(first_map)}]",
                "copies mixes variant names and {from, source, destination} "
                "entries, which Blubber 1.8 cannot read; write every entry as a "
                "mapping, e.g. {from: build}",
            )
        artifacts = []
        for index, item in enumerate(items):
            item_path = f"{field_path}[{index}]"
            if item.kind == "str":
                assert isinstance(item.value, str)
                self.decoder.record(item, item_path)
                artifact = Artifact(from_=item.value, location=item.location)
                self.check_from(item, item_path, item.value, f"{item_path}.from")
            else:
                artifact = self.artifact(item, item_path)
            artifacts.append(artifact)
        self.reject_duplicate_artifacts(artifacts, items, field_path)
        return tuple(artifacts)

    def requirements(self, node: YamlNode, field_path: str) -> tuple[Artifact, ...]:
        items = self.decoder.sequence(node, field_path)
        artifacts = []
        for index, item in enumerate(items):
            item_path = f"{field_path}[{index}]"
            if item.kind == "str":
                assert isinstance(item.value, str)
                artifact = Artifact(
                    from_=LOCAL, source=item.value, location=item.location
                )
                self.decoder.record(item, item_path)
                self.check_context_path(item, item_path, "copied")
            else:
                artifact = self.artifact(item, item_path)
            artifacts.append(artifact)
        self.reject_duplicate_artifacts(artifacts, items, field_path)
        return tuple(artifacts)

    def artifact(self, node: YamlNode, field_path: str) -> Artifact:
        entries = self.decoder.mapping(node, field_path, _ARTIFACT_KEYS)
        from_node = entries.get("from")
        from_ = ""
        if from_node is not None:
            from_ = self.decoder.optional_string(from_node, f"{field_path}.from")
        if not from_:
            raise self.decoder.fail(
                from_node or node,
                f"{field_path}.from",
                "missing; write local, a variant name or an image reference",
            )
        assert from_node is not None
        self.check_from(from_node, f"{field_path}.from", from_, f"{field_path}.from")

        source = destination = ""
        if "source" in entries:
            source = self.decoder.string(entries["source"], f"{field_path}.source")
        if "destination" in entries:
            destination = self.decoder.string(
                entries["destination"], f"{field_path}.destination"
            )
        exclude: tuple[str, ...] = ()
        if "exclude" in entries:
            exclude = self.decoder.strings(entries["exclude"], f"{field_path}.exclude")
        if destination and not source:
            raise self.decoder.fail(
                entries["destination"],
                f"{field_path}.source",
                "missing: source is required when destination is set",
            )
        location = entries["source"].location if source else node.location
        artifact = Artifact(from_, source, destination, exclude, location)
        if source and from_ == LOCAL:
            self.check_context_path(entries["source"], f"{field_path}.source", "copied")
        return artifact

    def check_from(
        self, node: YamlNode, field_path: str, from_: str, from_path: str
    ) -> None:
        """Reject a ``from`` that is not local, a variant or an image reference.

        ``field_path`` names the value in errors and ``from_path`` in the
        warning for a likely misspelled variant. They differ for a shorthand
        entry, where the list item itself is the ``from``.
        """
        if from_ == LOCAL or from_ in self.variant_names:
            return
        if rules.is_scratch(from_):
            raise self.decoder.fail_value(
                node,
                field_path,
                "is not an image that can be pulled, and an empty filesystem has "
                "nothing to copy or mount: remove the entry",
            )
        if rules.is_image_reference(from_):
            self.warn_if_misspelled_variant(node, from_path, from_)
            return
        near = closest(from_, self.variant_names)
        hint = f' (did you mean the variant "{near}"?)' if near else ""
        raise self.decoder.fail_value(
            node,
            field_path,
            f"is not a valid image reference or known variant{hint}: write local, "
            "a variant name or an image reference",
        )

    def warn_if_misspelled_variant(
        self, node: YamlNode, from_path: str, reference: str
    ) -> None:
        """Log a warning when an image name is a few edits from a variant name.

        Blubber pulls any ``from`` that is not a variant as an image, so a
        misspelled variant fails only when the build cannot pull it. A name
        with a registry domain, tag or digest is taken as a deliberate image.
        """
        if not rules.is_short_image_name(reference):
            return
        nearest: tuple[int, str] | None = None
        for name in self.variant_names:
            distance = edit_distance(reference, name)
            # Names of up to 4 characters allow one edit only, because two
            # edits turn most short names into unrelated ones.
            allowed = 1 if len(name) <= 4 else 2
            if distance <= allowed and (nearest is None or (distance, name) < nearest):
                nearest = (distance, name)
        if nearest is None:
            return
        logger.warning(
            "%s: %s %s is not a variant, so it is pulled as the image %s; did you "
            "mean the variant %s?",
            node.location,
            from_path,
            go_quote(reference),
            rules.full_image_name(reference),
            go_quote(nearest[1]),
        )

    def check_context_path(self, node: YamlNode, field_path: str, verb: str) -> None:
        """Reject a path read from the build context that could leave it.

        ``verb`` names how the path is read ("copied" or "mounted"). The rule
        is Blubber 1.8's rule for local copy sources, which also rejects a
        name such as ``..data`` that only starts with two dots.
        """
        assert isinstance(node.value, str)
        path = node.value
        if paths.is_abs(path) or paths.clean(path).startswith(".."):
            raise self.decoder.fail_value(
                node,
                field_path,
                f'is outside the build context: a path {verb} from "local" must be '
                'relative and must not start with ".."',
            )

    def reject_duplicate_artifacts(
        self, artifacts: list[Artifact], items: list[YamlNode], field_path: str
    ) -> None:
        for index, artifact in enumerate(artifacts):
            if artifact in artifacts[:index]:
                first = artifacts.index(artifact)
                raise self.decoder.fail(
                    items[index],
                    f"{field_path}[{index}]",
                    f"duplicates entry {first}; a list cannot contain the same "
                    "entry twice, so remove one",
                )

    # --- apt -----------------------------------------------------------------------

    def apt(self, node: YamlNode, field_path: str) -> Apt:
        entries = self.decoder.mapping(
            node, field_path, ("packages", "proxies", "sources")
        )
        apt = Apt()
        if "packages" in entries:
            apt = replace(
                apt,
                packages=self.apt_packages(
                    entries["packages"], f"{field_path}.packages"
                ),
            )
        if "proxies" in entries:
            apt = replace(
                apt,
                proxies=self.apt_proxies(entries["proxies"], f"{field_path}.proxies"),
            )
        if "sources" in entries:
            apt = replace(
                apt,
                sources=self.apt_sources(entries["sources"], f"{field_path}.sources"),
            )
        return apt

    def apt_packages(
        self, node: YamlNode, field_path: str
    ) -> dict[str, tuple[str, ...]]:
        if node.kind == "seq":
            return {DEFAULT_APT_RELEASE: self.package_list(node, field_path)}
        if node.kind != "map":
            raise self.decoder.fail(
                node,
                field_path,
                "expected a list of packages or a mapping of release names to lists",
            )
        packages: dict[str, tuple[str, ...]] = {}
        for release, child in self.decoder.mapping(node, field_path, None).items():
            child_path = f"{field_path}.{release}"
            rule = rules.check_debian_release(release)
            if rule is not None:
                raise UserInputError(
                    f"{field_path}: {go_quote(release)} {rule}",
                    child.key_location or child.location,
                )
            packages[release] = self.package_list(child, child_path)
        return packages

    def package_list(self, node: YamlNode, field_path: str) -> tuple[str, ...]:
        names = self.decoder.strings(node, field_path)
        items = self.decoder.sequence(node, field_path)
        for index, item in enumerate(items):
            self.check(rules.check_debian_package, item, f"{field_path}[{index}]")
        return names

    def apt_proxies(self, node: YamlNode, field_path: str) -> tuple[AptProxy, ...]:
        proxies = []
        for index, item in enumerate(self.decoder.sequence(node, field_path)):
            item_path = f"{field_path}[{index}]"
            if item.kind == "str":
                url = self.decoder.string(item, item_path)
                self.check(rules.check_http_url, item, item_path)
                proxies.append(AptProxy(url))
                continue
            entries = self.decoder.mapping(item, item_path, ("url", "source"))
            url = self.required_url(entries, item, item_path, "url")
            source = ""
            if "source" in entries:
                source = self.decoder.string(entries["source"], f"{item_path}.source")
                self.check(
                    rules.check_http_url, entries["source"], f"{item_path}.source"
                )
            proxies.append(AptProxy(url, source))
        return tuple(proxies)

    def apt_sources(self, node: YamlNode, field_path: str) -> tuple[AptSource, ...]:
        sources = []
        for index, item in enumerate(self.decoder.sequence(node, field_path)):
            item_path = f"{field_path}[{index}]"
            entries = self.decoder.mapping(
                item, item_path, ("url", "distribution", "components", "signed-by")
            )
            url = self.required_url(entries, item, item_path, "url")
            distribution_node = entries.get("distribution")
            distribution = ""
            if distribution_node is not None:
                distribution = self.decoder.string(
                    distribution_node, f"{item_path}.distribution"
                )
            if not distribution:
                raise self.decoder.fail(
                    distribution_node or item,
                    f"{item_path}.distribution",
                    "missing; write the release name, e.g. bookworm",
                )
            assert distribution_node is not None
            self.check(
                rules.check_debian_release,
                distribution_node,
                f"{item_path}.distribution",
            )
            components: tuple[str, ...] = ()
            if "components" in entries:
                components_path = f"{item_path}.components"
                components = self.decoder.strings(
                    entries["components"], components_path
                )
                for component_index, component in enumerate(
                    self.decoder.sequence(entries["components"], components_path)
                ):
                    self.check(
                        rules.check_debian_component,
                        component,
                        f"{components_path}[{component_index}]",
                    )
            signed_by = ""
            if "signed-by" in entries:
                signed_by = self.decoder.string(
                    entries["signed-by"], f"{item_path}.signed-by"
                )
            sources.append(AptSource(url, distribution, components, signed_by))
        return tuple(sources)

    def required_url(
        self, entries: dict[str, YamlNode], parent: YamlNode, item_path: str, key: str
    ) -> str:
        node = entries.get(key)
        url = (
            self.decoder.string(node, f"{item_path}.{key}") if node is not None else ""
        )
        if not url:
            raise self.decoder.fail(
                node or parent,
                f"{item_path}.{key}",
                "missing; write an http:// or https:// URL",
            )
        assert node is not None
        self.check(rules.check_http_url, node, f"{item_path}.{key}")
        return url

    # --- builders --------------------------------------------------------------------

    def node(self, node: YamlNode, field_path: str) -> Node:
        entries = self.decoder.mapping(
            node,
            field_path,
            ("requirements", "env", "use-npm-ci", "allow-dedupe-failure"),
        )
        result = Node()
        for key, child in entries.items():
            child_path = f"{field_path}.{key}"
            match key:
                case "requirements":
                    result = replace(
                        result, requirements=self.requirements(child, child_path)
                    )
                case "env":
                    env = self.decoder.string(child, child_path)
                    if env:
                        self.check(rules.check_node_env, child, child_path)
                    result = replace(result, env=env)
                case "use-npm-ci":
                    result = replace(
                        result, use_npm_ci=self.decoder.boolean(child, child_path)
                    )
                case "allow-dedupe-failure":
                    result = replace(
                        result,
                        allow_dedupe_failure=self.decoder.boolean(child, child_path),
                    )
        return result

    def php(self, node: YamlNode, field_path: str) -> Php:
        entries = self.decoder.mapping(node, field_path, ("requirements", "production"))
        result = Php()
        if "requirements" in entries:
            result = replace(
                result,
                requirements=self.requirements(
                    entries["requirements"], f"{field_path}.requirements"
                ),
            )
        if "production" in entries:
            result = replace(
                result,
                production=self.decoder.boolean(
                    entries["production"], f"{field_path}.production"
                ),
            )
        return result

    def python(self, node: YamlNode, field_path: str) -> Python:
        string_keys = {
            "version": "version",
            "pip-version": "pip_version",
            "setuptools-version": "setuptools_version",
            "tox-version": "tox_version",
            "wheel-version": "wheel_version",
            "venv": "venv",
        }
        bool_keys = {
            "use-system-site-packages": "use_system_site_packages",
            "no-deps": "no_deps",
        }
        allowed = {*string_keys, *bool_keys, "requirements", "poetry"}
        entries = self.decoder.mapping(node, field_path, allowed)
        result = Python()
        for key, child in entries.items():
            child_path = f"{field_path}.{key}"
            if key in string_keys:
                value = self.decoder.string(child, child_path)
                if key == "version" and "%" in value:
                    raise self.decoder.fail_value(
                        child,
                        child_path,
                        'contains "%", which Blubber 1.8 reads as a format verb; '
                        "name the interpreter without it",
                    )
                changes: dict[str, Any] = {string_keys[key]: value}
                result = replace(result, **changes)
            elif key in bool_keys:
                flag = self.decoder.boolean(child, child_path)
                flag_change: dict[str, Any] = {bool_keys[key]: flag}
                result = replace(result, **flag_change)
            elif key == "requirements":
                result = replace(
                    result, requirements=self.requirements(child, child_path)
                )
            else:
                result = replace(result, poetry=self.poetry(child, child_path))
        return result

    def poetry(self, node: YamlNode, field_path: str) -> Poetry:
        entries = self.decoder.mapping(
            node, field_path, ("version", "devel", "only", "without")
        )
        result = Poetry()
        for key, child in entries.items():
            child_path = f"{field_path}.{key}"
            if key == "devel":
                result = replace(result, devel=self.decoder.boolean(child, child_path))
                continue
            value = self.decoder.string(child, child_path)
            if key == "version" and value:
                self.check(rules.check_python_constraint, child, child_path)
            text_change: dict[str, Any] = {key: value}
            result = replace(result, **text_change)
        return result

    def builder(self, node: YamlNode, field_path: str) -> Builder:
        entries = self.decoder.mapping(
            node, field_path, ("command", "script", "requirements", "mounts", "caches")
        )
        result = Builder()
        for key, child in entries.items():
            child_path = f"{field_path}.{key}"
            match key:
                case "command":
                    result = replace(result, command=self.command(child, child_path))
                case "script":
                    result = replace(
                        result, script=self.decoder.string(child, child_path)
                    )
                case "requirements":
                    result = replace(
                        result, requirements=self.requirements(child, child_path)
                    )
                case "mounts":
                    result = replace(result, mounts=self.mounts(child, child_path))
                case "caches":
                    result = replace(result, caches=self.caches(child, child_path))
        return result

    def command(self, node: YamlNode, field_path: str) -> tuple[str, ...]:
        if node.kind == "str":
            text = self.decoder.string(node, field_path)
            if not text:
                raise self.decoder.fail(
                    node,
                    field_path,
                    "is empty; write the command to run, or remove the key",
                )
            command: tuple[str, ...] = (text,)
        else:
            command = self.decoder.strings(node, field_path)
        if command:
            try:
                format_run(command[0], command[1:])
            except RunTemplateError as error:
                raise self.decoder.fail(
                    node,
                    field_path,
                    f"{error}: Blubber 1.8 reads % in the first word of a command as "
                    "a format verb; move the command into a script builder, which "
                    "runs it verbatim",
                ) from error
        return command

    def mounts(self, node: YamlNode, field_path: str) -> tuple[Mount, ...]:
        mounts: list[Mount] = []
        items = self.decoder.sequence(node, field_path)
        for index, item in enumerate(items):
            item_path = f"{field_path}[{index}]"
            if item.kind == "str":
                mount = Mount(from_=self.decoder.string(item, item_path))
                from_node = item
                from_path = item_path
            else:
                entries = self.decoder.mapping(
                    item, item_path, ("from", "destination", "source")
                )
                values = {
                    key: self.decoder.string(child, f"{item_path}.{key}")
                    for key, child in entries.items()
                }
                mount = Mount(
                    from_=values.get("from", ""),
                    destination=values.get("destination", ""),
                    source=values.get("source", ""),
                )
                from_node = entries.get("from", item)
                from_path = f"{item_path}.from"
            if not mount.from_:
                raise self.decoder.fail(
                    from_node,
                    from_path,
                    "missing; write local, a variant name or an image reference",
                )
            self.check_from(from_node, from_path, mount.from_, f"{item_path}.from")
            if mount.from_ == LOCAL and mount.source:
                # NOTE: the source is $-expanded when the graph is built, so a
                # variable that expands to ".." is not caught here. BuildKit
                # then keeps the mount inside the context and fails with "not
                # found".
                self.check_context_path(
                    entries["source"], f"{item_path}.source", "mounted"
                )
            if mount in mounts:
                raise self.decoder.fail(
                    item,
                    item_path,
                    f"duplicates entry {mounts.index(mount)}; remove one",
                )
            mounts.append(mount)
        return tuple(mounts)

    def caches(self, node: YamlNode, field_path: str) -> tuple[Cache, ...]:
        caches: list[Cache] = []
        for index, item in enumerate(self.decoder.sequence(node, field_path)):
            item_path = f"{field_path}[{index}]"
            if item.kind == "str":
                cache = Cache(destination=self.decoder.string(item, item_path))
                destination_node = item
            else:
                entries = self.decoder.mapping(
                    item, item_path, ("destination", "id", "access")
                )
                values = {
                    key: self.decoder.string(child, f"{item_path}.{key}")
                    for key, child in entries.items()
                }
                access = values.get("access", "")
                if "access" in entries and access not in _CACHE_ACCESS:
                    raise self.decoder.fail_value(
                        entries["access"],
                        f"{item_path}.access",
                        "is not a cache access mode: write shared, locked or private",
                    )
                cache = Cache(
                    values.get("destination", ""), values.get("id", ""), access
                )
                destination_node = entries.get("destination", item)
            if not cache.destination:
                raise self.decoder.fail(
                    destination_node,
                    f"{item_path}.destination" if item.kind == "map" else item_path,
                    "missing; write the directory to mount the cache at",
                )
            if cache in caches:
                raise self.decoder.fail(
                    item,
                    item_path,
                    f"duplicates entry {caches.index(cache)}; remove one",
                )
            caches.append(cache)
        return tuple(caches)

    def builders(self, node: YamlNode, field_path: str) -> tuple[BuilderEntry, ...]:
        entries: list[BuilderEntry] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(self.decoder.sequence(node, field_path)):
            item_path = f"{field_path}[{index}]"
            body = self.decoder.mapping(
                item, item_path, ("custom", "node", "php", "python")
            )
            if len(body) != 1:
                raise self.decoder.fail(
                    item,
                    item_path,
                    f"has {len(body)} keys: each builders entry needs exactly one of "
                    "custom, node, php or python",
                )
            ((kind, child),) = body.items()
            child_path = f"{item_path}.{kind}"
            if kind != "custom" and kind in seen:
                raise self.decoder.fail(
                    child,
                    child_path,
                    f"repeats the {kind} builder of entry {seen[kind]}: node, php "
                    "and python may each appear once in builders",
                )
            seen[kind] = index
            match kind:
                case "custom":
                    entries.append(self.builder(child, child_path))
                case "node":
                    entries.append(self.node(child, child_path))
                case "php":
                    entries.append(self.php(child, child_path))
                case _:
                    entries.append(self.python(child, child_path))
        return tuple(entries)

    # --- users and environment -----------------------------------------------------

    def lives(self, node: YamlNode, field_path: str) -> Lives:
        entries = self.decoder.mapping(node, field_path, ("in", "as", "uid", "gid"))
        result = Lives()
        for key, child in entries.items():
            child_path = f"{field_path}.{key}"
            match key:
                case "in":
                    result = replace(result, in_=self.absolute_path(child, child_path))
                case "as":
                    result = replace(result, as_=self.user_name(child, child_path))
                case "uid":
                    result = replace(
                        result, uid=self.decoder.unsigned(child, child_path)
                    )
                case "gid":
                    result = replace(
                        result, gid=self.decoder.unsigned(child, child_path)
                    )
        return result

    def runs(self, node: YamlNode, field_path: str) -> Runs:
        entries = self.decoder.mapping(
            node, field_path, ("in", "as", "uid", "gid", "environment", "insecurely")
        )
        result = Runs()
        for key, child in entries.items():
            child_path = f"{field_path}.{key}"
            match key:
                case "in":
                    result = replace(result, in_=self.absolute_path(child, child_path))
                case "as":
                    result = replace(result, as_=self.user_name(child, child_path))
                case "uid":
                    result = replace(
                        result, uid=self.decoder.unsigned(child, child_path)
                    )
                case "gid":
                    result = replace(
                        result, gid=self.decoder.unsigned(child, child_path)
                    )
                case "environment":
                    result = replace(
                        result, environment=self.environment(child, child_path)
                    )
                case "insecurely":
                    result = replace(
                        result, insecurely=self.decoder.boolean(child, child_path)
                    )
        return result

    def absolute_path(self, node: YamlNode, field_path: str) -> str:
        value = self.decoder.string(node, field_path)
        if value:
            self.check(rules.check_absolute_path, node, field_path)
        return value

    def user_name(self, node: YamlNode, field_path: str) -> str:
        value = self.decoder.string(node, field_path)
        if value:
            self.check(rules.check_user_name, node, field_path)
        return value

    def environment(self, node: YamlNode, field_path: str) -> dict[str, str]:
        entries = self.decoder.mapping(node, field_path, None)
        for name, child in entries.items():
            rule = rules.check_environment_name(name)
            if rule is not None:
                raise UserInputError(
                    f"{field_path}: {go_quote(name)} {rule}",
                    child.key_location or child.location,
                )
        return self.decoder.string_map(node, field_path)

    def check(
        self, rule: Callable[[str], str | None], node: YamlNode, field_path: str
    ) -> None:
        assert isinstance(node.value, str)
        message = rule(node.value)
        if message is not None:
            raise self.decoder.fail_value(node, field_path, message)


def _written(entries: dict[str, YamlNode], key: str) -> frozenset[str]:
    node = entries.get(key)
    if node is None or not isinstance(node.value, dict):
        return frozenset()
    return frozenset(node.value)


_UserBlock = TypeVar("_UserBlock", Lives, Runs)

_FIELD_OF_KEY = {"in": "in_", "as": "as_", "uid": "uid", "gid": "gid"}


def _apply_defaults(
    written: _UserBlock, defaults: _UserBlock, keys: frozenset[str]
) -> _UserBlock:
    """Put Blubber's built-in lives/runs values under the top-level block.

    Blubber decodes the file over a default document, so a key the file
    writes replaces the default even with an empty string or 0; only keys
    the file leaves out keep their default.
    """
    values = {
        field: getattr(defaults, field)
        for key, field in _FIELD_OF_KEY.items()
        if key not in keys and getattr(defaults, field)
    }
    return replace(written, **values)
