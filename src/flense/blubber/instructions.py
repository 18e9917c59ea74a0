"""The compiled form of a Blubber variant: stages of build instructions.

The instruction set is closed, so a backend is one ``match`` over
``Instruction``. Instructions are independent of the base image: its config
(ENV, WORKDIR, USER, labels) comes in when a backend starts a stage, as
Blubber does when it resolves the base image:

1. Start the stage from ``Stage.base`` (or scratch) and take the image
   config: put its ENV on the build state, use its WORKDIR and USER.
   A scratch stage starts with working directory ``/`` and the default
   ``PATH``.
2. Add the build platform variables (``BUILDPLATFORM``, ``BUILDOS``,
   ``BUILDARCH``, ``BUILDVARIANT``, ``TARGETPLATFORM``, ``TARGETOS``,
   ``TARGETARCH``, ``TARGETVARIANT``) to the build-time environment.
3. Apply the instructions in order. Text marked "expanded" below goes
   through ``flense.blubber.variables.expand_variables`` against the
   stage's build-time environment at that point (image ENV, instruction
   ENV, build arguments and platform variables).

``flense.blubber.image.replay`` does steps 1 to 3 for the image config and
the build-time environment; a backend can follow it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flense.errors import Location

__all__ = [
    "BindMount",
    "BuildArgument",
    "BuildContext",
    "CacheMount",
    "CopyFrom",
    "CopyLocal",
    "Entrypoint",
    "Env",
    "ImageSource",
    "Instruction",
    "Label",
    "MakeFile",
    "Mount",
    "Owner",
    "Run",
    "RunScript",
    "Stage",
    "StageSource",
    "User",
    "WorkingDirectory",
]


@dataclass(frozen=True)
class BuildContext:
    """The main build context (``local``)."""


@dataclass(frozen=True)
class StageSource:
    """The final filesystem of an earlier stage of the same build."""

    name: str


@dataclass(frozen=True)
class ImageSource:
    """The filesystem of an image that no stage is named after."""

    reference: str


@dataclass(frozen=True)
class Owner:
    """A numeric ``uid:gid`` owner; both parts are expanded (``$LIVES_UID``)."""

    uid: str
    gid: str


@dataclass(frozen=True)
class BuildArgument:
    """A build argument put on the build-time environment only.

    The value is the one given for the build (``--build-arg``) if any, else
    ``default``. It never reaches the image config.
    """

    name: str
    default: str


@dataclass(frozen=True)
class Env:
    """Environment variables for later commands and for the image config.

    ``variables`` is sorted by name, the order Blubber applies them in.
    Values are expanded, each against the environment before this
    instruction, and replace an existing variable of the same name.
    """

    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class User:
    """The user of later commands and of the image config (expanded)."""

    user: str


@dataclass(frozen=True)
class WorkingDirectory:
    """The working directory of later commands and of the image config.

    The path is absolute. It is expanded for the image config only (as
    Blubber does), and no directory is created.
    """

    path: str


@dataclass(frozen=True)
class BindMount:
    """A filesystem mounted during one command; writes to it are discarded.

    ``destination`` and ``source`` are expanded. ``destination`` defaults
    to ``.``. A relative destination is meant relative to the command's
    working directory, so a backend joins the two after expansion.
    ``source`` selects a directory of the mounted filesystem (empty for its
    root).
    """

    origin: BuildContext | StageSource | ImageSource
    destination: str = "."
    source: str = ""
    readonly: bool = False


@dataclass(frozen=True)
class CacheMount:
    """A persistent cache mounted during one command.

    ``destination`` is expanded and, when relative, joined to the command's
    working directory. ``id`` empty means the expanded destination.
    ``sharing`` is ``shared``, ``private`` or ``locked``. When the expanded
    ``owner`` is not ``0:0``, the mount's source is a ``/cache`` directory
    (mode 0755) of a scratch filesystem created with that owner.
    """

    destination: str
    id: str
    sharing: str
    owner: Owner


Mount = BindMount | CacheMount


@dataclass(frozen=True)
class Run:
    """A command run as ``/bin/sh -c <expanded command>``.

    ``command`` is the text before ``$`` expansion, with arguments already
    quoted (Go ``strconv.Quote``) and several commands joined by `` && ``.
    """

    command: str
    mounts: tuple[Mount, ...] = ()


@dataclass(frozen=True)
class RunScript:
    """A builder script, run without a shell and without ``$`` expansion.

    The backend writes ``script`` as ``/script`` (mode 0555) in a scratch
    filesystem, mounts it read-only at ``/<sha256 hex of script>`` and runs
    ``/<sha256 hex>/script`` with the extra ``mounts``.
    """

    script: bytes
    mounts: tuple[Mount, ...] = ()

    @property
    def digest(self) -> str:
        """The SHA-256 hex digest of the script, which names its mount."""
        return hashlib.sha256(self.script).hexdigest()

    @property
    def path(self) -> str:
        """The path the script runs from."""
        return f"/{self.digest}/script"


@dataclass(frozen=True)
class CopyLocal:
    """Copy files from the build context into the stage.

    ``sources`` are absolute paths in the context. ``destination`` is
    absolute, with a trailing ``/`` for a directory. Copies follow
    symlinks, copy a directory's contents, create missing parents, allow
    wildcards (an empty match is fine) and never unpack archives.
    ``owner`` None keeps the source ownership; the owner is expanded.
    ``exclude`` patterns apply to every source. ``locations`` has, for each
    source, where the config writes it (None when unknown), for errors
    about the source only.
    """

    sources: tuple[str, ...]
    destination: str
    owner: Owner | None = None
    exclude: tuple[str, ...] = ()
    locations: tuple[Location | None, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class CopyFrom:
    """Copy files from an earlier stage or an image, as CopyLocal does.

    ``sources`` are absolute: Blubber resolves relative ones against the
    source stage's final working directory, and against ``/`` for an image.
    """

    origin: StageSource | ImageSource
    sources: tuple[str, ...]
    destination: str
    owner: Owner | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class MakeFile:
    """Write one file with fixed content (APT configuration)."""

    path: str
    mode: int
    content: bytes


@dataclass(frozen=True)
class Entrypoint:
    """The image entrypoint; setting it clears the image's CMD."""

    command: tuple[str, ...]


@dataclass(frozen=True)
class Label:
    """Image labels; values are expanded."""

    labels: tuple[tuple[str, str], ...]


Instruction = (
    BuildArgument
    | Env
    | User
    | WorkingDirectory
    | Run
    | RunScript
    | CopyLocal
    | CopyFrom
    | MakeFile
    | Entrypoint
    | Label
)


@dataclass(frozen=True)
class Stage:
    """One build stage: a variant compiled against its base image.

    ``base`` is an image reference, or None for scratch.
    ``working_directory`` is the stage's working directory after its last
    instruction: ``runs.in`` or ``lives.in``, or ``/`` for scratch.
    """

    name: str
    base: str | None
    instructions: tuple[Instruction, ...]
    working_directory: str
