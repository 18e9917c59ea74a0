"""Apply a stage's instructions to an image config and a build environment.

This follows what Blubber 1.8 does while it compiles a target. The build
state starts from the base image config, and ``$`` references are expanded
at compile time against the build-time environment. The image config
collects ENV, USER, WORKDIR, ENTRYPOINT and labels. The LLB backend needs
the same bookkeeping; tests use it to check the expanded command text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from flense.blubber import paths
from flense.blubber.instructions import (
    BuildArgument,
    CopyFrom,
    CopyLocal,
    Entrypoint,
    Env,
    Label,
    MakeFile,
    Run,
    RunScript,
    Stage,
    User,
    WorkingDirectory,
)
from flense.blubber.variables import expand_variables

__all__ = [
    "DEFAULT_PATH",
    "CopyStep",
    "ExecStep",
    "ImageConfig",
    "StageResult",
    "platform_environment",
    "replay",
    "scratch_config",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""BuildKit's default ``PATH`` for Linux, which a scratch stage starts with."""


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config that Blubber reads or writes."""

    env: tuple[str, ...] = ()
    user: str = ""
    working_dir: str = ""
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def scratch_config() -> ImageConfig:
    """Return the config a stage without base image starts from."""
    return ImageConfig(env=(f"PATH={DEFAULT_PATH}",), working_dir="/")


def platform_environment(
    os: str = "linux", architecture: str = "amd64", variant: str = ""
) -> dict[str, str]:
    """Return the BUILD* and TARGET* variables for one platform (build = target)."""
    platform = f"{os}/{architecture}" + (f"/{variant}" if variant else "")
    return {
        "BUILDPLATFORM": platform,
        "BUILDOS": os,
        "BUILDARCH": architecture,
        "BUILDVARIANT": variant,
        "TARGETPLATFORM": platform,
        "TARGETOS": os,
        "TARGETARCH": architecture,
        "TARGETVARIANT": variant,
    }


@dataclass(frozen=True)
class ExecStep:
    """A command as BuildKit receives it."""

    args: tuple[str, ...]
    user: str
    cwd: str
    instruction: Run | RunScript


@dataclass(frozen=True)
class CopyStep:
    """A copy with its owner expanded (``uid:gid``, or None to keep owners)."""

    owner: str | None
    instruction: CopyLocal | CopyFrom


@dataclass(frozen=True)
class StageResult:
    """The outcome of applying a stage: image config, build env and steps."""

    config: ImageConfig
    build_env: tuple[tuple[str, str], ...]
    steps: tuple[ExecStep | CopyStep | MakeFile, ...]


def replay(
    stage: Stage,
    base_config: ImageConfig | None = None,
    build_arguments: Mapping[str, str] | None = None,
    platform: Mapping[str, str] | None = None,
) -> StageResult:
    """Apply ``stage`` to ``base_config`` (scratch config for a scratch stage).

    ``build_arguments`` override the defaults of BuildArgument instructions.
    ``platform`` defaults to linux/amd64.
    """
    if base_config is None:
        base_config = scratch_config() if stage.base is None else ImageConfig()
    arguments = dict(build_arguments or {})
    environment: dict[str, str] = {}
    for entry in base_config.env:
        name, _, value = entry.partition("=")
        environment[name] = value
    cwd = base_config.working_dir or "/"
    user = expand_variables(base_config.user, environment) if base_config.user else ""
    config = base_config
    for name, value in sorted((platform or platform_environment()).items()):
        environment[name] = expand_variables(value, environment)
    labels = dict(base_config.labels)
    image_env = list(base_config.env)
    steps: list[ExecStep | CopyStep | MakeFile] = []

    def expand(text: str) -> str:
        return expand_variables(text, environment)

    for instruction in stage.instructions:
        match instruction:
            case BuildArgument(name=name, default=default):
                environment[name] = arguments.get(name, default)
            case Env(variables=variables):
                for name, value in variables:
                    image_env = _replace_env(image_env, name, expand(value))
                for name, value in variables:
                    environment[name] = expand(value)
            case User(user=value):
                user = expand(value)
                config = replace(config, user=user)
            case WorkingDirectory(path=path):
                config = replace(config, working_dir=expand(path))
                cwd = paths.join("/", cwd, path) if not paths.is_abs(path) else path
            case Run(command=command):
                steps.append(
                    ExecStep(
                        ("/bin/sh", "-c", expand(command)),
                        user or "0",
                        cwd,
                        instruction,
                    )
                )
            case RunScript():
                steps.append(
                    ExecStep((instruction.path,), user or "0", cwd, instruction)
                )
            case CopyLocal(owner=owner) | CopyFrom(owner=owner):
                owner_text = (
                    None if owner is None else expand(f"{owner.uid}:{owner.gid}")
                )
                steps.append(CopyStep(owner_text, instruction))
            case MakeFile():
                steps.append(instruction)
            case Entrypoint(command=command):
                config = replace(config, entrypoint=command, cmd=None)
            case Label(labels=pairs):
                for name, value in pairs:
                    labels[name] = expand(value)

    config = replace(config, env=tuple(image_env), labels=labels)
    return StageResult(config, tuple(environment.items()), tuple(steps))


def _replace_env(entries: list[str], name: str, value: str) -> list[str]:
    replaced = False
    result = []
    for entry in entries:
        if entry.partition("=")[0] == name:
            result.append(f"{name}={value}")
            replaced = True
        else:
            result.append(entry)
    if not replaced:
        result.append(f"{name}={value}")
    return result
