"""Compile expanded variants into stages of instructions, as Blubber 1.8 does.

Each stage is built in five phases: privileged (as root), privilege-dropped
(as the ``lives`` user), pre-install, install and post-install (as the
``runs`` user unless ``runs.insecurely``). In each phase the components
contribute in a fixed order: arguments, apt, builders, node, php, python,
builder, lives, runs; then the entrypoint, then ``copies``. A phase that
switches user starts with ``User`` and ``HOME``, and every copy in a phase
gets that phase's file owner. A scratch variant (no ``base``) gets only
its copies (without owner), its entrypoint and its labels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from urllib.parse import urlsplit

from flense.blubber import paths
from flense.blubber.config import (
    DEFAULT_APT_RELEASE,
    LOCAL,
    LOCAL_LIB_PREFIX,
    Apt,
    AptProxy,
    AptSource,
    Artifact,
    Builder,
    BuilderEntry,
    Config,
    Lives,
    Node,
    Php,
    Python,
    Runs,
    Variant,
)
from flense.blubber.expand import Expansion, expand
from flense.blubber.instructions import (
    BindMount,
    BuildArgument,
    BuildContext,
    CacheMount,
    CopyFrom,
    CopyLocal,
    Entrypoint,
    Env,
    ImageSource,
    Instruction,
    Label,
    MakeFile,
    Mount,
    Owner,
    Run,
    RunScript,
    Stage,
    StageSource,
    User,
    WorkingDirectory,
)
from flense.blubber.quoting import format_run, join_runs
from flense.errors import Location

__all__ = [
    "BLUBBER_VERSION",
    "LABEL_VARIANT",
    "LABEL_VERSION",
    "Phase",
    "compile_expansion",
    "compile_variant",
]

BLUBBER_VERSION = "1.8.0"
"""The Blubber release whose semantics flense follows."""

LABEL_VARIANT = "blubber.variant"
LABEL_VERSION = "blubber.version"
VERSION_LABEL_VALUE = f"{BLUBBER_VERSION}+flense"

APT_PROXY_FILE = "/etc/apt/apt.conf.d/99blubber-proxies"
APT_SOURCES_FILE = "/etc/apt/sources.list.d/99blubber.list"
APT_KEYRING_DIRECTORY = "/etc/apt/keyrings"
APT_FILE_MODE = 0o644
PYTHON_DEFAULT_VENV = LOCAL_LIB_PREFIX + "/venv"
PYTHON_POETRY_VENVS = LOCAL_LIB_PREFIX + "/poetry"
PYTHON_DEFAULT_SETUPTOOLS = "!=60.9.0"

LIVES_OWNER = Owner("$LIVES_UID", "$LIVES_GID")
RUNS_OWNER = Owner("$RUNS_UID", "$RUNS_GID")


class Phase(IntEnum):
    """The build phases, in the order they run."""

    PRIVILEGED = 0
    PRIVILEGE_DROPPED = 1
    PRE_INSTALL = 2
    INSTALL = 3
    POST_INSTALL = 4


@dataclass(frozen=True)
class _Copy:
    """A copy before its owner and paths are resolved.

    ``locations`` has, for each source, where the config writes it.
    """

    from_: str
    sources: tuple[str, ...]
    destination: str
    exclude: tuple[str, ...]
    owner: Owner | None = None
    locations: tuple[Location | None, ...] = ()


_Item = Instruction | _Copy


def compile_variant(config: Config, variant: str) -> tuple[Stage, ...]:
    """Expand ``variant`` and compile it and its dependencies, leaves first."""
    return compile_expansion(expand(config, variant))


def compile_expansion(expansion: Expansion) -> tuple[Stage, ...]:
    """Compile every stage of an expansion, leaves first; the target is last."""
    final_directories: dict[str, str] = {}
    stages = []
    for variant in expansion.stages:
        stage = _compile_stage(variant, final_directories)
        final_directories[variant.name] = stage.working_directory
        stages.append(stage)
    return tuple(stages)


def _compile_stage(variant: Variant, final_directories: dict[str, str]) -> Stage:
    items: list[_Item] = []
    for phase in Phase:
        items.extend(_phase_items(variant, phase, frozenset(final_directories)))

    working_directory = None if not variant.is_scratch else "/"
    instructions: list[Instruction] = []
    for item in items:
        if isinstance(item, WorkingDirectory):
            working_directory = item.path
        if isinstance(item, _Copy):
            instructions.append(
                _resolve_copy(item, working_directory, final_directories)
            )
        else:
            instructions.append(item)
    instructions.append(
        Label(((LABEL_VARIANT, variant.name), (LABEL_VERSION, VERSION_LABEL_VALUE)))
    )
    assert working_directory is not None, "a stage with a base always sets lives.in"
    return Stage(
        name=variant.name,
        base=None if variant.is_scratch else variant.base,
        instructions=tuple(instructions),
        working_directory=working_directory,
    )


def _phase_items(variant: Variant, phase: Phase, stages: frozenset[str]) -> list[_Item]:
    items: list[_Item] = []
    if not variant.is_scratch:
        items += _arguments(variant.arguments, phase)
        items += _apt(variant.apt, phase)
        for entry in variant.builders:
            items += _builder_entry(entry, phase, stages)
        items += _node(variant.node, phase)
        items += _php(variant.php, phase)
        items += _python(variant.python, phase)
        items += _builder(variant.builder, phase, stages)
        items += _lives(variant.lives, phase)
        items += _runs(variant.runs, phase)

    if phase is Phase.POST_INSTALL and variant.entrypoint:
        items.append(Entrypoint(tuple(variant.entrypoint)))

    if phase is Phase.INSTALL:
        for artifact in variant.copies:
            for expanded in _expand_copy(artifact, variant.lives.in_):
                items.append(
                    _Copy(
                        expanded.from_,
                        (expanded.source,),
                        expanded.destination,
                        expanded.exclude,
                        locations=(artifact.location,),
                    )
                )

    if variant.is_scratch:
        return items

    switch_user, owner = _user_for_phase(variant, phase)
    if owner is not None:
        items = [
            replace(item, owner=owner) if isinstance(item, _Copy) else item
            for item in items
        ]
    if switch_user is not None:
        user, name = switch_user
        items = [User(user), _home(name), *items]
    return items


def _user_for_phase(
    variant: Variant, phase: Phase
) -> tuple[tuple[str, str] | None, Owner | None]:
    """Return ``((uid, user name for HOME), copy owner)`` for a phase."""
    match phase:
        case Phase.PRIVILEGED:
            return ("0", "root"), None
        case Phase.PRIVILEGE_DROPPED:
            return ("$LIVES_UID", variant.lives.as_), LIVES_OWNER
        case Phase.PRE_INSTALL | Phase.INSTALL:
            return None, LIVES_OWNER
        case _:
            if variant.runs.insecurely:
                return None, LIVES_OWNER
            return ("$RUNS_UID", "$RUNS_AS"), RUNS_OWNER


def _home(name: str) -> Env:
    return Env((("HOME", "/root" if name == "root" else "/home/" + name),))


def _env(variables: dict[str, str]) -> Env:
    return Env(tuple(sorted(variables.items())))


def _run(
    template: str, arguments: Sequence[str] = (), mounts: Sequence[Mount] = ()
) -> Run:
    return Run(format_run(template, arguments), tuple(mounts))


def _run_all(commands: Sequence[tuple[str, Sequence[str]]]) -> Run:
    return Run(join_runs(commands))


# --- artifacts ---------------------------------------------------------------


def _expand_copy(artifact: Artifact, app_directory: str) -> list[Artifact]:
    """Expand one ``copies`` entry with the copying variant's ``lives.in``."""
    if artifact.from_ and not artifact.source and not artifact.destination:
        if artifact.from_ == LOCAL:
            return [Artifact(LOCAL, ".", ".", artifact.exclude)]
        return [
            Artifact(artifact.from_, app_directory, app_directory, artifact.exclude),
            Artifact(
                artifact.from_, LOCAL_LIB_PREFIX, LOCAL_LIB_PREFIX, artifact.exclude
            ),
        ]
    if not artifact.destination:
        return [
            Artifact(artifact.from_, artifact.source, artifact.source, artifact.exclude)
        ]
    return [artifact]


def _is_directory(path: str) -> bool:
    return paths.clean(path) == "." or path.endswith("/")


def _normalized_source(artifact: Artifact) -> str:
    cleaned = paths.clean(artifact.source)
    if cleaned != "/" and _is_directory(artifact.source):
        return cleaned + "/"
    return cleaned


def _normalized_destination(artifact: Artifact) -> str:
    if not artifact.destination:
        if artifact.source and _is_directory(artifact.source):
            return artifact.source
        return paths.directory(_normalized_source(artifact)) + "/"
    destination = paths.clean(artifact.destination)
    if destination != "/" and (
        _is_directory(artifact.destination) or _is_directory(artifact.source)
    ):
        destination += "/"
    return destination


def effective_destination(artifact: Artifact) -> str:
    """Return where a requirement ends up: the file path when a file is
    copied into a directory, else the normalized destination."""
    destination = _normalized_destination(artifact)
    if not _is_directory(destination) or _is_directory(artifact.source):
        return destination
    name = paths.base(artifact.source)
    return name if destination == "./" else destination + name


def _requirements(
    requirements: tuple[Artifact, ...] | None, phase: Phase
) -> list[_Item]:
    """Group requirements by ``from``, then by destination, in first-seen order."""
    if phase is not Phase.PRE_INSTALL or not requirements:
        return []
    groups: dict[str, dict[str, _Group]] = {}
    for artifact in requirements:
        by_destination = groups.setdefault(artifact.from_, {})
        group = by_destination.setdefault(_normalized_destination(artifact), _Group())
        group.sources.append(_normalized_source(artifact))
        group.excludes.extend(artifact.exclude)
        group.locations.append(artifact.location)
    items: list[_Item] = []
    for from_, by_destination in groups.items():
        for destination, group in by_destination.items():
            items.append(
                _Copy(
                    from_ or LOCAL,
                    tuple(group.sources),
                    destination,
                    tuple(group.excludes),
                    locations=tuple(group.locations),
                )
            )
    return items


@dataclass
class _Group:
    """The requirements that share one ``from`` and one destination."""

    sources: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    locations: list[Location | None] = field(default_factory=list)


def _resolve_copy(
    copy: _Copy, working_directory: str | None, final_directories: dict[str, str]
) -> CopyLocal | CopyFrom:
    destination = copy.destination
    if len(copy.sources) > 1 and not destination.endswith("/"):
        destination += "/"
    assert working_directory is not None, (
        "copies run after lives.in is the working directory"
    )
    destination = paths.resolve_destination(working_directory, destination)

    if copy.from_ == LOCAL:
        sources = tuple(_absolute("/", source) for source in copy.sources)
        return CopyLocal(sources, destination, copy.owner, copy.exclude, copy.locations)

    origin: StageSource | ImageSource
    if copy.from_ in final_directories:
        origin = StageSource(copy.from_)
        source_directory = final_directories[copy.from_]
    else:
        origin = ImageSource(copy.from_)
        # Blubber reads no image config for copy sources, so BuildKit
        # resolves a relative source against the image's root.
        source_directory = "/"
    sources = tuple(_absolute(source_directory, source) for source in copy.sources)
    return CopyFrom(origin, sources, destination, copy.owner, copy.exclude)


def _absolute(directory: str, source: str) -> str:
    cleaned = paths.clean(source)
    if paths.is_abs(cleaned):
        return cleaned
    return paths.join("/", directory, cleaned)


# --- components --------------------------------------------------------------


def _arguments(arguments: dict[str, str] | object, phase: Phase) -> list[_Item]:
    if phase is not Phase.PRIVILEGED:
        return []
    assert isinstance(arguments, dict)
    return [BuildArgument(name, arguments[name]) for name in sorted(arguments)]


def _apt(apt: Apt, phase: Phase) -> list[_Item]:
    if phase is not Phase.PRIVILEGED:
        return []
    if not (apt.packages or apt.sources or apt.proxies):
        return []
    items: list[_Item] = [Env((("DEBIAN_FRONTEND", "noninteractive"),))]

    if apt.proxies:
        lines = [_proxy_line(proxy) for proxy in apt.proxies]
        items.append(MakeFile(APT_PROXY_FILE, APT_FILE_MODE, _lines(lines)))

    source_lines = []
    for source in apt.sources:
        source_lines.append(_source_line(source))
        if source.signed_by:
            items.append(
                MakeFile(
                    _keyring_path(source), APT_FILE_MODE, source.signed_by.encode()
                )
            )
    if source_lines:
        # ca-certificates first, so that https sources can be fetched.
        items.append(
            _run_all(
                [("apt-get update", ()), ("apt-get install -y", ("ca-certificates",))]
            )
        )
        items.append(MakeFile(APT_SOURCES_FILE, APT_FILE_MODE, _lines(source_lines)))

    commands: list[tuple[str, Sequence[str]]] = []
    if apt.packages:
        commands.append(("apt-get update", ()))
    for release in sorted(apt.packages):
        packages = apt.packages[release]
        if release == DEFAULT_APT_RELEASE:
            commands.append(("apt-get install -y", packages))
        else:
            commands.append(("apt-get install -y -t", (release, *packages)))
    commands.append(("rm -rf /var/lib/apt/lists/*", ()))
    if apt.proxies:
        commands.append(("rm -f", (APT_PROXY_FILE,)))
    items.append(_run_all(commands))
    return items


def _lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _proxy_line(proxy: AptProxy) -> str:
    parsed = urlsplit(proxy.source or proxy.url)
    line = f"Acquire::{parsed.scheme}::Proxy"
    if proxy.source:
        line += "::" + parsed.netloc.rpartition("@")[2]
    return f'{line} "{proxy.url}";'


def _keyring_path(source: AptSource) -> str:
    digest = hashlib.sha256(source.signed_by.encode()).hexdigest()
    return f"{APT_KEYRING_DIRECTORY}/{digest}.asc"


def _source_line(source: AptSource) -> str:
    line = "deb"
    if source.signed_by:
        line += f" [signed-by={_keyring_path(source)}]"
    return line + " " + " ".join([source.url, source.distribution, *source.components])


def _builder_entry(
    entry: BuilderEntry, phase: Phase, stages: frozenset[str]
) -> list[_Item]:
    match entry:
        case Builder():
            return _builder(entry, phase, stages)
        case Node():
            return _node(entry, phase)
        case Php():
            return _php(entry, phase)
        case Python():
            return _python(entry, phase)


def _node(node: Node, phase: Phase) -> list[_Item]:
    items = _requirements(node.requirements, phase)
    production = node.env == "production"
    if phase is Phase.PRE_INSTALL and node.requirements:
        command = "npm ci" if node.use_npm_ci else "npm install"
        items.append(_run(command, ["--only=production"] if production else []))
        if production:
            if node.allow_dedupe_failure:
                items.append(
                    _run(
                        "npm dedupe || echo %s",
                        ["WARNING: npm dedupe failed, continuing anyways"],
                    )
                )
            else:
                items.append(_run("npm dedupe"))
    if phase is Phase.POST_INSTALL and (node.env or node.requirements):
        items.append(Env((("NODE_ENV", node.env),)))
    return items


def _php(php: Php, phase: Phase) -> list[_Item]:
    items = _requirements(php.requirements, phase)
    if phase is Phase.PRE_INSTALL and php.requirements:
        arguments = ["--no-scripts"]
        if php.production:
            arguments.append("--no-dev")
        items.append(_run_all([("composer install", arguments)]))
    return items


def _python(python: Python, phase: Phase) -> list[_Item]:
    if not python.version or python.requirements is None:
        return []
    items = _requirements(python.requirements, phase)
    interpreter = python.version
    poetry = python.poetry.version != ""

    if phase is Phase.PRE_INSTALL:
        venv = python.venv or PYTHON_DEFAULT_VENV
        venv_arguments = ["-m", "venv", venv]
        if python.use_system_site_packages:
            venv_arguments.append("--system-site-packages")
        items.append(_run(interpreter, venv_arguments))
        items.append(_env({"VIRTUAL_ENV": venv, "PATH": venv + "/bin:$PATH"}))
        items.append(
            _run_all(
                [
                    (
                        interpreter,
                        ["-m", "pip", "install", "-U", _setuptools_package(python)],
                    ),
                    (
                        interpreter,
                        [
                            "-m",
                            "pip",
                            "install",
                            "-U",
                            "wheel" + _version_specifier(python.wheel_version),
                            "tox" + _version_specifier(python.tox_version),
                            _pip_package(python),
                        ],
                    ),
                ]
            )
        )
        if poetry:
            items.append(Env((("POETRY_VIRTUALENVS_PATH", PYTHON_POETRY_VENVS),)))
            package = "poetry" + _version_specifier(python.poetry.version)
            items.append(_run(interpreter, ["-m", "pip", "install", "-U", package]))
            arguments = ["install", "--no-root"]
            if python.poetry.only:
                arguments += ["--only", python.poetry.only]
            if python.poetry.without:
                arguments += ["--without", python.poetry.without]
            if (
                not python.poetry.only
                and not python.poetry.without
                and not python.poetry.devel
            ):
                arguments.append("--no-dev")
            items.append(_run("mkdir -p", [PYTHON_POETRY_VENVS]))
            items.append(_run("poetry", arguments))
        elif python.requirements:
            install = ["-m", "pip", "install"]
            if python.no_deps:
                install.append("--no-deps")
            for requirement in python.requirements:
                install += ["-r", effective_destination(requirement)]
            items.append(_run(interpreter, install))

    if phase is Phase.POST_INSTALL and not poetry and python.no_deps:
        items.append(_run(interpreter, ["-m", "pip", "check"]))
    return items


def _version_specifier(version: str) -> str:
    """Prefix a bare version (starting with a digit) with ``==``."""
    if version and version[0] in "0123456789":
        return "==" + version
    return version


def _setuptools_package(python: Python) -> str:
    if not python.setuptools_version:
        return "setuptools" + PYTHON_DEFAULT_SETUPTOOLS
    return "setuptools" + _version_specifier(python.setuptools_version)


def _pip_package(python: Python) -> str:
    # Blubber slices the first 7 characters here and panics on a shorter
    # interpreter name; a prefix test gives the intended result.
    if not python.pip_version and python.version.startswith("python2"):
        return "pip<21"
    return "pip" + _version_specifier(python.pip_version)


def _builder(builder: Builder, phase: Phase, stages: frozenset[str]) -> list[_Item]:
    items = _requirements(builder.requirements, phase)
    if phase is not Phase.PRE_INSTALL:
        return items
    mounts: list[Mount] = [
        BindMount(_origin(mount.from_, stages), mount.destination or ".", mount.source)
        for mount in builder.mounts or ()
    ]
    mounts += [
        CacheMount(cache.destination, cache.id, cache.access or "shared", LIVES_OWNER)
        for cache in builder.caches or ()
    ]
    if builder.script:
        script = builder.script.encode()
        if not script.startswith(b"#!"):
            script = b"#!/bin/sh\n" + script
        items.append(RunScript(script, tuple(mounts)))
    elif builder.command:
        items.append(_run(builder.command[0], builder.command[1:], mounts))
    return items


def _origin(
    from_: str, stages: frozenset[str]
) -> BuildContext | StageSource | ImageSource:
    if from_ == LOCAL:
        # Blubber 1.8 inverts an error check here and pulls an image called
        # "local" instead of mounting the build context.
        return BuildContext()
    if from_ in stages:
        return StageSource(from_)
    return ImageSource(from_)


def _lives(lives: Lives, phase: Phase) -> list[_Item]:
    match phase:
        case Phase.PRIVILEGED:
            return [
                BuildArgument("LIVES_AS", lives.as_),
                BuildArgument("LIVES_UID", str(lives.uid)),
                BuildArgument("LIVES_GID", str(lives.gid)),
                _run_all(
                    [
                        *_create_user("$LIVES_AS", "$LIVES_UID", "$LIVES_GID"),
                        ("mkdir -p", [lives.in_]),
                        ("chown %s:%s", ["$LIVES_UID", "$LIVES_GID", lives.in_]),
                        ("mkdir -p", [LOCAL_LIB_PREFIX]),
                        ("chown %s:%s", ["$LIVES_UID", "$LIVES_GID", LOCAL_LIB_PREFIX]),
                    ]
                ),
            ]
        case Phase.PRIVILEGE_DROPPED:
            return [WorkingDirectory(lives.in_)]
    return []


def _runs(runs: Runs, phase: Phase) -> list[_Item]:
    match phase:
        case Phase.PRIVILEGED:
            return [
                BuildArgument("RUNS_AS", runs.as_),
                BuildArgument("RUNS_UID", str(runs.uid)),
                BuildArgument("RUNS_GID", str(runs.gid)),
                _run_all(_create_user("$RUNS_AS", "$RUNS_UID", "$RUNS_GID")),
            ]
        case Phase.PRIVILEGE_DROPPED if runs.environment:
            return [_env(dict(runs.environment))]
        case Phase.POST_INSTALL if runs.in_:
            return [WorkingDirectory(runs.in_)]
    return []


def _create_user(name: str, uid: str, gid: str) -> list[tuple[str, Sequence[str]]]:
    home = "/root" if name == "root" else "/home/" + name
    return [
        ("(getent group %s || groupadd -o -g %s -r %s)", [gid, gid, name]),
        (
            "(getent passwd %s || useradd -l -o -m -d %s -r -g %s -u %s %s)",
            [uid, home, gid, uid, name],
        ),
    ]
