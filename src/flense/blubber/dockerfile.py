"""Render compiled stages as a multi-stage Dockerfile, for review.

The Dockerfile mirrors the instruction list line by line: one stage per
variant (``FROM <base> AS <variant>``), ``ARG`` for build arguments,
``RUN`` in shell form, ``COPY`` in JSON array form with ``--chown`` before
``--from``, and ``ENV``, ``LABEL``, ``ARG``, ``USER`` and ``WORKDIR``
values in double quotes. Each stage ends with an empty line.

Blubber expands ``$`` before the build, with Go's ``os.Expand`` rules,
while Docker expands ``ENV``, ``LABEL``, ``ARG``, ``USER`` and ``WORKDIR``
values with its own rules and leaves ``RUN`` to the shell. The output
rewrites every ``$`` so that Docker or the shell gets the value Blubber
would: a reference to a variable name stays a reference, a reference that
Go resolves to nothing (``${X:-default}``, ``$$``, ``$1``) is dropped, and
in quoted values a ``$`` that Go keeps, and every ``$`` of an ``ARG``
default, which Blubber never expands, is escaped as ``\\$``. ``RUN`` text
still differs where the shell would not expand a name that Go expands:
inside single quotes, and for variables the command itself sets.

``COPY --exclude`` is a labs flag in Dockerfile syntax 1.7, which Docker 26
builds with (it became stable in 1.19), so a Dockerfile that uses it starts
with ``# syntax=docker/dockerfile:1.7-labs``.
APT files and builder scripts become heredocs, which need Dockerfile syntax
1.4 or later. A value with a line break cannot be written in a Dockerfile
and raises DockerfileValueError.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from flense.blubber.quoting import go_quote
from flense.blubber.variables import rewrite_references
from flense.errors import UserInputError

__all__ = ["LABS_SYNTAX", "DockerfileValueError", "render_dockerfile"]

LABS_SYNTAX = "# syntax=docker/dockerfile:1.7-labs"
"""The parser directive for flags that only the labs syntax has (``--exclude``)."""


class DockerfileValueError(UserInputError):
    """A value that a Dockerfile cannot hold, such as one with a line break.

    ``stage`` is the variant and ``name`` the variable the value belongs to.
    """

    def __init__(self, message: str, stage: str, name: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.name = name


def render_dockerfile(stages: Iterable[Stage]) -> str:
    """Return the Dockerfile text for ``stages`` (leaves first, target last).

    Raises DockerfileValueError for an ``ENV`` or ``ARG`` value with a line
    break.
    """
    lines: list[str] = []
    for stage in stages:
        lines.append(f"FROM {stage.base or 'scratch'} AS {stage.name}")
        for instruction in stage.instructions:
            lines.extend(_render(instruction, stage.name))
        lines.append("")
    if any(_uses_labs_flag(stage) for stage in stages):
        lines.insert(0, LABS_SYNTAX)
    return "\n".join(lines) + "\n"


def _uses_labs_flag(stage: Stage) -> bool:
    return any(
        isinstance(instruction, CopyLocal | CopyFrom) and instruction.exclude
        for instruction in stage.instructions
    )


def _render(instruction: object, stage: str) -> list[str]:
    match instruction:
        case BuildArgument(name=name, default=default):
            _check_one_line(stage, name, default)
            return [f"ARG {name}={_docker_quote(default, expand=False)}"]
        case Env(variables=variables):
            for name, value in variables:
                _check_one_line(stage, name, value)
            return ["ENV " + _pairs(variables)]
        case Label(labels=labels):
            return ["LABEL " + _pairs(labels)]
        case User(user=user):
            return [f"USER {_docker_quote(user)}"]
        case WorkingDirectory(path=path):
            return [f"WORKDIR {_docker_quote(path)}"]
        case Entrypoint(command=command):
            return [f"ENTRYPOINT {_array(command)}"]
        case Run(command=command, mounts=mounts):
            flags = "".join(f"{_mount_flag(mount)} " for mount in mounts)
            command = _blubber_references(command)
            if "\n" in command:
                delimiter = _delimiter(command)
                return [f"RUN {flags}<<'{delimiter}'", command, delimiter]
            return [f"RUN {flags}{command}"]
        case RunScript(script=script, mounts=mounts):
            flags = "".join(f"{_mount_flag(mount)} " for mount in mounts)
            text = script.decode("utf-8", "replace").rstrip("\n")
            delimiter = _delimiter(text)
            return [f"RUN {flags}<<'{delimiter}'", text, delimiter]
        case CopyLocal(
            sources=sources, destination=destination, owner=owner, exclude=exclude
        ):
            return [_copy(sources, destination, owner, None, exclude)]
        case CopyFrom(
            origin=origin,
            sources=sources,
            destination=destination,
            owner=owner,
            exclude=exclude,
        ):
            return [_copy(sources, destination, owner, _origin_name(origin), exclude)]
        case MakeFile(path=path, mode=mode, content=content):
            text = content.decode("utf-8", "replace").rstrip("\n")
            delimiter = _delimiter(text)
            return [f"COPY --chmod={mode:o} <<'{delimiter}' {path}", text, delimiter]
    raise TypeError(f"not a Blubber instruction: {instruction!r}")


def _check_one_line(stage: str, name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise DockerfileValueError(
            f"variant {stage}: the value of {name} contains a line break, which a "
            "Dockerfile cannot hold (Docker would store \\n as a backslash and an "
            "n); build with the LLB output instead of --format dockerfile, or "
            "remove the line break",
            stage,
            name,
        )


def _pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return " ".join(f"{name}={_docker_quote(value)}" for name, value in pairs)


def _docker_quote(value: str, *, expand: bool = True) -> str:
    """Quote ``value`` as a Dockerfile word that Docker reads as Blubber does.

    Inside double quotes Docker takes a backslash before ``"``, ``$`` or
    ``\\`` as an escape and every other character literally. With
    ``expand``, references are rewritten as ``_blubber_references`` does;
    without, every ``$`` is escaped.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if expand:
        escaped = _blubber_references(escaped, "\\$")
    else:
        escaped = escaped.replace("$", "\\$")
    return f'"{escaped}"'


def _blubber_references(text: str, dollar: str = "$") -> str:
    """Rewrite ``$`` references so that Docker or the shell expands them as Go.

    A reference to a name that can be a variable stays as written. Any
    other reference (``${X:-d}``, ``$$``, ``$1``), which Go's ``os.Expand``
    looks up as a variable that never exists, is dropped. A ``$`` that Go
    keeps, such as the one in ``$(``, becomes ``dollar``.
    """

    def replace(name: str, written: str) -> str:
        return written if _is_variable_name(name) else ""

    return rewrite_references(text, replace, dollar)


def _is_variable_name(name: str) -> bool:
    if name[0].isdigit():
        return False
    return all(
        character == "_" or (character.isascii() and character.isalnum())
        for character in name
    )


def _array(items: Iterable[str]) -> str:
    return "[" + ", ".join(go_quote(item) for item in items) + "]"


def _copy(
    sources: tuple[str, ...],
    destination: str,
    owner: Owner | None,
    origin: str | None,
    exclude: tuple[str, ...],
) -> str:
    flags = []
    if owner is not None:
        flags.append(f"--chown={owner.uid}:{owner.gid}")
    if origin is not None:
        flags.append(f"--from={origin}")
    flags.extend(f"--exclude={pattern}" for pattern in exclude)
    if len(sources) > 1 and not destination.endswith("/"):
        destination += "/"
    return " ".join(["COPY", *flags, _array([*sources, destination])])


def _origin_name(origin: StageSource | ImageSource | BuildContext) -> str:
    if isinstance(origin, StageSource):
        return origin.name
    if isinstance(origin, ImageSource):
        return origin.reference
    return ""


def _mount_flag(mount: Mount) -> str:
    if isinstance(mount, BindMount):
        parts = ["type=bind", f"target={mount.destination}"]
        if not isinstance(mount.origin, BuildContext):
            parts.append(f"from={_origin_name(mount.origin)}")
        if mount.source:
            parts.append(f"source={mount.source}")
        if not mount.readonly:
            parts.append("rw")
        return "--mount=" + ",".join(parts)
    assert isinstance(mount, CacheMount)
    parts = [
        "type=cache",
        f"target={mount.destination}",
        f"id={mount.id or mount.destination}",
        f"sharing={mount.sharing}",
        f"uid={mount.owner.uid}",
        f"gid={mount.owner.gid}",
    ]
    return "--mount=" + ",".join(parts)


def _delimiter(text: str) -> str:
    delimiter = "EOF"
    while delimiter in text.splitlines():
        delimiter += "_"
    return delimiter
