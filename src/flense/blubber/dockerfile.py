"""Render compiled stages as a multi-stage Dockerfile, for review.

The Dockerfile mirrors the instruction list line by line: one stage per
variant (``FROM <base> AS <variant>``), ``ARG`` for build arguments,
``RUN`` in shell form, ``COPY`` in JSON array form with ``--chown`` before
``--from``, and ``ENV``/``LABEL`` values quoted as Blubber quotes them. Each
stage ends with an empty line.

It is meant for reading and differs from the compiled build in three ways.
Docker leaves ``$`` in ``RUN`` to the shell, while Blubber expands it before
the build with Go's rules. ``COPY --exclude`` needs the
``docker/dockerfile:1.7-labs`` syntax. APT files and builder scripts become
heredocs, which need Dockerfile syntax 1.4 or later.
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

__all__ = ["render_dockerfile"]


def render_dockerfile(stages: Iterable[Stage]) -> str:
    """Return the Dockerfile text for ``stages`` (leaves first, target last)."""
    lines: list[str] = []
    for stage in stages:
        lines.append(f"FROM {stage.base or 'scratch'} AS {stage.name}")
        for instruction in stage.instructions:
            lines.extend(_render(instruction))
        lines.append("")
    return "\n".join(lines) + "\n"


def _render(instruction: object) -> list[str]:
    match instruction:
        case BuildArgument(name=name, default=default):
            return [f"ARG {name}={go_quote(default)}"]
        case Env(variables=variables):
            return ["ENV " + _pairs(variables)]
        case Label(labels=labels):
            return ["LABEL " + _pairs(labels)]
        case User(user=user):
            return [f"USER {go_quote(user)}"]
        case WorkingDirectory(path=path):
            return [f"WORKDIR {go_quote(path)}"]
        case Entrypoint(command=command):
            return [f"ENTRYPOINT {_array(command)}"]
        case Run(command=command, mounts=mounts):
            flags = "".join(f"{_mount_flag(mount)} " for mount in mounts)
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


def _pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return " ".join(f"{name}={go_quote(value)}" for name, value in pairs)


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
