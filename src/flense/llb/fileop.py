"""File ops: copy, mkdir, mkfile, rm and symlink actions on a filesystem."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Concatenate, ParamSpec

from flense.llb import paths
from flense.llb.proto import ops_pb2
from flense.llb.state import State
from flense.llb.vertex import (
    MarshalContext,
    Output,
    ProgressGroup,
    Vertex,
    VertexOptions,
    new_op,
)

_P = ParamSpec("_P")

_DECIMAL = re.compile(r"[0-9]+")
_OCTAL = re.compile(r"[0-7]+")
_MAX_ID = 2**31 - 1  # Go's client parses numeric ids as int32


def _parse_id(text: str) -> int | str:
    if text == "root":
        return 0
    if _DECIMAL.fullmatch(text) and int(text) <= _MAX_ID:
        return int(text)
    return text


@dataclass(frozen=True)
class Owner:
    """The owner given to created or copied files.

    An int is a numeric id. A str is a user or group name that BuildKit
    looks up in ``/etc/passwd`` and ``/etc/group`` of the state the file op
    runs on, so a name needs a base state that is not scratch. The
    ``owner=`` argument of the actions also takes ``"user[:group]"`` (see
    ``parse``) or an int, which sets both the user and the group id.
    """

    user: int | str
    group: int | str | None = None

    @classmethod
    def parse(cls, spec: str) -> Owner:
        """Parse ``user[:group]``; digits and ``root`` become numeric ids."""
        user, separator, group = spec.partition(":")
        if not user or (separator and not group):
            raise ValueError(
                f"invalid owner {spec!r}: use 'user', 'user:group', 'uid' or"
                " 'uid:gid', for example '65533:65533'"
            )
        return cls(_parse_id(user), _parse_id(group) if separator else None)

    def has_names(self) -> bool:
        """Return True when the user or group is given by name."""
        return isinstance(self.user, str) or isinstance(self.group, str)

    def to_pb(self, base_index: int) -> ops_pb2.ChownOpt:
        """Return the ``ChownOpt``; names resolve in input ``base_index``."""
        owner = ops_pb2.ChownOpt()
        owner.user.CopyFrom(_user_pb(self.user, base_index))
        if self.group is not None:
            owner.group.CopyFrom(_user_pb(self.group, base_index))
        return owner


def _user_pb(value: int | str, base_index: int) -> ops_pb2.UserOpt:
    if isinstance(value, int):
        if not 0 <= value <= 2**32 - 1:
            raise ValueError(f"invalid owner id {value}: it must fit in uint32")
        return ops_pb2.UserOpt(byID=value)
    return ops_pb2.UserOpt(byName=ops_pb2.NamedUserOpt(name=value, input=base_index))


def _owner(value: Owner | str | int | None) -> Owner | None:
    if value is None or isinstance(value, Owner):
        return value
    if isinstance(value, int):
        return Owner(value, value)
    return Owner.parse(value)


def _timestamp(value: int | None) -> int:
    # The daemon reads -1 as "not set", while 0 would mean 1970-01-01.
    return -1 if value is None else value


@dataclass(frozen=True)
class _Copy:
    source: State
    src: str
    dest: str
    owner: Owner | None
    mode: int | str | None
    follow_symlinks: bool
    copy_dir_contents: bool
    attempt_unpack: bool
    create_dest_path: bool
    allow_wildcard: bool
    allow_empty_wildcard: bool
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    timestamp: int | None
    always_replace_existing_dest_paths: bool


@dataclass(frozen=True)
class _Mkdir:
    path: str
    mode: int
    parents: bool
    owner: Owner | None
    timestamp: int | None


@dataclass(frozen=True)
class _Mkfile:
    path: str
    mode: int
    data: bytes
    owner: Owner | None
    timestamp: int | None


@dataclass(frozen=True)
class _Rm:
    path: str
    allow_not_found: bool
    allow_wildcard: bool


@dataclass(frozen=True)
class _Symlink:
    oldpath: str
    newpath: str
    owner: Owner | None
    timestamp: int | None


_Spec = _Copy | _Mkdir | _Mkfile | _Rm | _Symlink


def copy(
    source: State,
    src: str,
    dest: str,
    *,
    owner: Owner | str | int | None = None,
    mode: int | str | None = None,
    follow_symlinks: bool = False,
    copy_dir_contents: bool = False,
    attempt_unpack: bool = False,
    create_dest_path: bool = False,
    allow_wildcard: bool = False,
    allow_empty_wildcard: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    timestamp: int | None = None,
    always_replace_existing_dest_paths: bool = False,
) -> FileAction:
    """Copy ``src`` of ``source`` to ``dest`` of the state the op runs on.

    A relative ``src`` is joined to ``source``'s working directory and a
    relative ``dest`` to the target state's. A trailing ``/`` on ``dest``
    copies into that directory. ``mode`` None keeps the source permissions.
    An int or a string of octal digits sets them, and any other string is a
    chmod expression such as ``u+x`` (BuildKit 0.17 and later).
    ``timestamp`` is nanoseconds since the Unix epoch, and None keeps the
    source times. ``include`` and ``exclude`` filter the copied tree with
    Docker's pattern rules (BuildKit 0.9 and later).
    """
    if isinstance(mode, str) and _OCTAL.fullmatch(mode):
        mode = int(mode, 8)
    spec = _Copy(
        source,
        src,
        dest,
        _owner(owner),
        mode,
        follow_symlinks,
        copy_dir_contents,
        attempt_unpack,
        create_dest_path,
        allow_wildcard,
        allow_empty_wildcard,
        tuple(include),
        tuple(exclude),
        timestamp,
        always_replace_existing_dest_paths,
    )
    return FileAction(spec)


def mkdir(
    path: str,
    mode: int = 0o755,
    *,
    parents: bool = False,
    owner: Owner | str | int | None = None,
    timestamp: int | None = None,
) -> FileAction:
    """Create the directory ``path`` (and its parents with ``parents``)."""
    return FileAction(_Mkdir(path, mode & 0o777, parents, _owner(owner), timestamp))


def mkfile(
    path: str,
    mode: int,
    data: bytes | str,
    *,
    owner: Owner | str | int | None = None,
    timestamp: int | None = None,
) -> FileAction:
    """Create the file ``path`` holding ``data`` (a str is written as UTF-8)."""
    content = data.encode() if isinstance(data, str) else bytes(data)
    return FileAction(_Mkfile(path, mode & 0o777, content, _owner(owner), timestamp))


def rm(
    path: str, *, allow_not_found: bool = False, allow_wildcard: bool = False
) -> FileAction:
    """Remove ``path``; ``allow_wildcard`` lets it match several paths."""
    return FileAction(_Rm(path, allow_not_found, allow_wildcard))


def symlink(
    oldpath: str,
    newpath: str,
    *,
    owner: Owner | str | int | None = None,
    timestamp: int | None = None,
) -> FileAction:
    """Create the symbolic link ``newpath`` pointing to ``oldpath``.

    Needs BuildKit 0.19 or later: older daemons reject the op because they
    lack the ``file.symlink.create`` capability. Both paths are sent as
    given, without joining the working directory, as Go's client does.
    """
    return FileAction(_Symlink(oldpath, newpath, _owner(owner), timestamp))


def _chained(
    factory: Callable[_P, FileAction],
) -> Callable[Concatenate[FileAction, _P], FileAction]:
    # Turns an action factory into a FileAction method that appends the
    # action to the chain, with the factory's signature and docstring.
    def append(self: FileAction, *args: _P.args, **kwargs: _P.kwargs) -> FileAction:
        return FileAction(factory(*args, **kwargs)._spec, self)

    append.__name__ = factory.__name__
    append.__doc__ = factory.__doc__
    return append


@dataclass(frozen=True, eq=False)
class FileAction:
    """A chain of file actions, built with ``llb.copy``, ``llb.mkdir`` etc.

    The methods ``copy``, ``mkdir``, ``mkfile``, ``rm`` and ``symlink``
    take the arguments of the module functions of the same name and append
    that action. ``State.file`` turns a chain into one FileOp in which each
    action applies to the result of the action before it.
    """

    _spec: _Spec
    _previous: FileAction | None = None

    def actions(self) -> list[_Spec]:
        """Return the chain's actions, first to last."""
        chain: list[_Spec] = []
        action: FileAction | None = self
        while action is not None:
            chain.append(action._spec)
            action = action._previous
        chain.reverse()
        return chain

    copy = _chained(copy)
    mkdir = _chained(mkdir)
    mkfile = _chained(mkfile)
    rm = _chained(rm)
    symlink = _chained(symlink)


class FileVertex(Vertex):
    """A ``FileOp``: one chain of actions applied to ``base``."""

    __slots__ = ("base", "actions")

    def __init__(
        self, base: State, actions: list[_Spec], options: VertexOptions
    ) -> None:
        super().__init__(options)
        self.base = base
        self.actions = actions

    def inputs(self) -> list[Output]:
        # The Go client walks the chain from its last action back, visiting
        # the base state and then the copy source of each action.
        seen: dict[Output, None] = {}
        for spec in reversed(self.actions):
            if self.base.output is not None:
                seen.setdefault(self.base.output, None)
            if isinstance(spec, _Copy) and spec.source.output is not None:
                seen.setdefault(spec.source.output, None)
        return list(seen)

    def build_op(self, context: MarshalContext) -> tuple[ops_pb2.Op, set[str]]:
        op = new_op()
        caps = {"file.base"}
        input_index: dict[tuple[str, int], int] = {}

        def add_input(state: State) -> int:
            if state.output is None:
                return -1
            edge = context.input_of(state.output)
            key = (edge.digest, edge.index)
            if key not in input_index:
                input_index[key] = len(op.inputs)
                op.inputs.append(edge)
            return input_index[key]

        rows: list[tuple[int, int, _Spec]] = []
        for spec in self.actions:
            base_index = add_input(self.base)
            source_index = add_input(spec.source) if isinstance(spec, _Copy) else -1
            rows.append((base_index, source_index, spec))

        # Inputs are known only after the walk above, and an action that
        # continues from action k refers to it as len(inputs) + k.
        input_count = len(op.inputs)
        last = len(rows) - 1
        for position, (base_index, source_index, spec) in enumerate(rows):
            action = op.file.actions.add()
            action.input = base_index if position == 0 else input_count + position - 1
            action.secondaryInput = source_index
            action.output = 0 if position == last else -1
            caps.update(self._fill(action, spec, base_index))
        return op, caps

    def _fill(
        self, action: ops_pb2.FileAction, spec: _Spec, base_index: int
    ) -> set[str]:
        cwd = self.base.cwd
        if isinstance(spec, _Copy):
            return _fill_copy(action.copy, spec, cwd, base_index)
        if isinstance(spec, _Mkdir):
            mkdir_pb = action.mkdir
            mkdir_pb.path = paths.normalize(cwd, spec.path)
            mkdir_pb.mode = spec.mode
            mkdir_pb.makeParents = spec.parents
            if spec.owner is not None:
                mkdir_pb.owner.CopyFrom(spec.owner.to_pb(base_index))
            mkdir_pb.timestamp = _timestamp(spec.timestamp)
            return set()
        if isinstance(spec, _Mkfile):
            mkfile_pb = action.mkfile
            mkfile_pb.path = paths.normalize(cwd, spec.path)
            mkfile_pb.mode = spec.mode
            mkfile_pb.data = spec.data
            if spec.owner is not None:
                mkfile_pb.owner.CopyFrom(spec.owner.to_pb(base_index))
            mkfile_pb.timestamp = _timestamp(spec.timestamp)
            return set()
        if isinstance(spec, _Rm):
            rm_pb = action.rm
            rm_pb.path = paths.normalize(cwd, spec.path)
            rm_pb.allowNotFound = spec.allow_not_found
            rm_pb.allowWildcard = spec.allow_wildcard
            return set()
        symlink_pb = action.symlink
        symlink_pb.oldpath = spec.oldpath
        symlink_pb.newpath = spec.newpath
        if spec.owner is not None:
            symlink_pb.owner.CopyFrom(spec.owner.to_pb(base_index))
        symlink_pb.timestamp = _timestamp(spec.timestamp)
        return {"file.symlink.create"}


def _fill_copy(
    copy_pb: ops_pb2.FileActionCopy, spec: _Copy, cwd: str, base_index: int
) -> set[str]:
    caps: set[str] = set()
    src = paths.clean(spec.src)
    if not src.startswith("/"):
        src = paths.join(spec.source.cwd or "/", src)
    copy_pb.src = src
    copy_pb.dest = paths.normalize(cwd, spec.dest, keep_trailing_slash=True)
    if spec.owner is not None:
        copy_pb.owner.CopyFrom(spec.owner.to_pb(base_index))

    if spec.mode is None:
        copy_pb.mode = -1
    elif isinstance(spec.mode, str):
        copy_pb.modeStr = spec.mode
        caps.add("file.copy.modestring")
    else:
        copy_pb.mode = spec.mode

    copy_pb.followSymlink = spec.follow_symlinks
    copy_pb.dirCopyContents = spec.copy_dir_contents
    copy_pb.attemptUnpackDockerCompatibility = spec.attempt_unpack
    copy_pb.createDestPath = spec.create_dest_path
    copy_pb.allowWildcard = spec.allow_wildcard
    copy_pb.allowEmptyWildcard = spec.allow_empty_wildcard
    copy_pb.timestamp = _timestamp(spec.timestamp)

    copy_pb.include_patterns.extend(spec.include)
    copy_pb.exclude_patterns.extend(spec.exclude)
    if spec.include or spec.exclude:
        caps.add("file.copy.includeexcludepatterns")
    copy_pb.alwaysReplaceExistingDestPaths = spec.always_replace_existing_dest_paths
    if spec.always_replace_existing_dest_paths:
        caps.add("file.copy.alwaysreplaceexistingdestpaths")
    return caps


def new_file_output(
    base: State,
    action: FileAction,
    *,
    name: str | None,
    description: Mapping[str, str] | None,
    ignore_cache: bool,
    progress_group: ProgressGroup | None,
) -> Output:
    """Build the FileOp for ``State.file`` and return its output."""
    if not isinstance(action, FileAction):
        raise TypeError(
            f"State.file expects a FileAction such as llb.copy(...), got {action!r}"
        )
    actions = action.actions()
    if base.is_scratch():
        for spec in actions:
            owner = getattr(spec, "owner", None)
            if owner is not None and owner.has_names():
                # BuildKit resolves names in the base filesystem and fails
                # with "invalid user index: -1" when the base is scratch.
                raise ValueError(
                    f"owner {_format_owner(owner)!r} uses a name, but the file"
                    " op runs on scratch, which has no /etc/passwd to look it"
                    " up in: give numeric ids such as '65533:65533'"
                )
    options = VertexOptions.build(name, description, ignore_cache, progress_group)
    return Output(FileVertex(base, actions, options), 0)


def _format_owner(owner: Owner) -> str:
    if owner.group is None:
        return str(owner.user)
    return f"{owner.user}:{owner.group}"
