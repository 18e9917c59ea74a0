"""Exec ops: run a command in a container, with mounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

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

MountKind = Literal["bind", "cache", "tmpfs", "secret", "ssh"]

_NETWORK_MODES = {
    "sandbox": ops_pb2.UNSET,
    "host": ops_pb2.HOST,
    "none": ops_pb2.NONE,
}
_SECURITY_MODES = {
    "sandbox": ops_pb2.SANDBOX,
    "insecure": ops_pb2.INSECURE,
}
_CACHE_SHARING = {
    "shared": ops_pb2.SHARED,
    "private": ops_pb2.PRIVATE,
    "locked": ops_pb2.LOCKED,
}


@dataclass(frozen=True)
class Mount:
    """A mount of an exec, built with ``bind``, ``cache_mount``, ``tmpfs``,
    ``secret_mount`` or ``ssh_mount``.

    ``source`` None means scratch. ``output`` False keeps a writable bind
    mount from producing an output (Go's ``ForceNoOutput``). ``id``,
    ``uid``, ``gid``, ``mode`` and ``optional`` apply to secret and SSH
    mounts; ``id`` is the cache ID of a cache mount.
    """

    kind: MountKind
    dest: str
    source: State | None = None
    selector: str = ""
    readonly: bool = False
    output: bool = True
    id: str = ""
    sharing: str = "shared"
    size_bytes: int | None = None
    uid: int = 0
    gid: int = 0
    mode: int = 0o400
    optional: bool = False

    def has_output(self) -> bool:
        """Return True when the mount's filesystem is an output of the exec."""
        return self.kind == "bind" and not self.readonly and self.output


def bind(
    dest: str,
    source: State,
    *,
    selector: str = "",
    readonly: bool = False,
    output: bool = True,
) -> Mount:
    """Mount ``source`` (or its ``selector`` sub-path) at ``dest``.

    A writable bind mount is an output of the exec: read it with
    ``ExecState.mount_output(dest)``.
    """
    return Mount("bind", dest, source, selector, readonly, output)


def cache_mount(
    dest: str,
    id: str,
    sharing: str = "shared",
    source: State | None = None,
    selector: str = "",
) -> Mount:
    """Mount the persistent cache directory ``id`` at ``dest``.

    ``sharing`` is ``shared``, ``private`` or ``locked``. ``source`` seeds
    a new cache directory. A cache mount has no output.
    """
    if sharing not in _CACHE_SHARING:
        raise ValueError(
            f"invalid cache sharing mode {sharing!r}:"
            " use 'shared', 'private' or 'locked'"
        )
    return Mount("cache", dest, source, selector, id=id, sharing=sharing)


def tmpfs(dest: str, size_bytes: int | None = None) -> Mount:
    """Mount an empty tmpfs at ``dest``, limited to ``size_bytes`` if given."""
    if size_bytes is not None and size_bytes <= 0:
        raise ValueError(f"invalid tmpfs size {size_bytes}: it must be positive")
    return Mount("tmpfs", dest, size_bytes=size_bytes)


def secret_mount(
    dest: str,
    id: str,
    uid: int = 0,
    gid: int = 0,
    mode: int = 0o400,
    optional: bool = False,
) -> Mount:
    """Mount the build secret ``id`` as the file ``dest``."""
    return Mount("secret", dest, id=id, uid=uid, gid=gid, mode=mode, optional=optional)


def ssh_mount(
    dest: str = "",
    id: str = "",
    uid: int = 0,
    gid: int = 0,
    mode: int = 0o600,
    optional: bool = False,
) -> Mount:
    """Mount the forwarded SSH agent ``id`` (empty: ``default``) as a socket.

    An empty ``dest`` becomes ``/run/buildkit/ssh_agent.<n>``, ``n`` counting
    the exec's SSH mounts from 0. The exec's ``SSH_AUTH_SOCK`` is set to the
    first SSH socket unless the environment already has it.
    """
    return Mount("ssh", dest, id=id, uid=uid, gid=gid, mode=mode, optional=optional)


@dataclass(frozen=True)
class ProxyEnv:
    """Proxy variables set in the exec but kept out of its cache key."""

    http_proxy: str = ""
    https_proxy: str = ""
    ftp_proxy: str = ""
    no_proxy: str = ""
    all_proxy: str = ""


class ExecVertex(Vertex):
    """An ``ExecOp``, with mounts sorted by destination so ``/`` comes first."""

    __slots__ = (
        "args",
        "state",
        "mounts",
        "agent_mounts",
        "network",
        "security",
        "proxy_env",
        "hostname",
        "output_index",
    )

    def __init__(
        self,
        state: State,
        args: tuple[str, ...],
        mounts: tuple[Mount, ...],
        agent_mounts: tuple[Mount, ...],
        network: str,
        security: str,
        proxy_env: ProxyEnv | None,
        hostname: str,
        options: VertexOptions,
    ) -> None:
        super().__init__(options)
        self.state = state
        self.args = args
        self.mounts = mounts
        self.agent_mounts = agent_mounts
        self.network = network
        self.security = security
        self.proxy_env = proxy_env
        self.hostname = hostname
        # The daemon numbers outputs densely, in mount order, over the bind
        # mounts that have one, so a consumer's Input.index is that number.
        self.output_index: dict[str, int] = {}
        for mount in mounts:
            if mount.has_output():
                self.output_index[mount.dest] = len(self.output_index)

    def inputs(self) -> list[Output]:
        seen: dict[Output, None] = {}
        for mount in self.mounts:
            if mount.source is not None and mount.source.output is not None:
                seen.setdefault(mount.source.output, None)
        return list(seen)

    def build_op(self, context: MarshalContext) -> tuple[ops_pb2.Op, set[str]]:
        caps = {"exec.meta.base"}
        op = new_op()
        platform = self.state.platform or context.platform
        op.platform.CopyFrom(platform.to_pb())
        exec_op = op.exec
        exec_op.network = _NETWORK_MODES[self.network]
        exec_op.security = _SECURITY_MODES[self.security]
        if self.network != "sandbox":
            caps.add("exec.meta.network")
        if self.security != "sandbox":
            caps.add("exec.meta.security")

        meta = exec_op.meta
        meta.args.extend(self.args)
        meta.env.extend(f"{key}={value}" for key, value in self._env())
        meta.cwd = self.state.cwd
        meta.user = self.state.user
        meta.hostname = self.hostname
        meta.removeMountStubsRecursive = True
        if self.proxy_env is not None:
            proxy = self.proxy_env
            meta.proxy_env.CopyFrom(
                ops_pb2.ProxyEnv(
                    http_proxy=proxy.http_proxy,
                    https_proxy=proxy.https_proxy,
                    ftp_proxy=proxy.ftp_proxy,
                    no_proxy=proxy.no_proxy,
                    all_proxy=proxy.all_proxy,
                )
            )
            caps.add("exec.meta.proxyenv")

        input_index: dict[tuple[str, int], int] = {}
        for mount in self.mounts:
            exec_op.mounts.append(self._mount_pb(mount, op, input_index, context))
            caps.update(_mount_caps(mount))
        for mount in self.agent_mounts:
            exec_op.mounts.append(_agent_mount_pb(mount))
        if any(mount.kind == "secret" for mount in self.agent_mounts):
            caps.add("exec.mount.secret")
        if any(mount.kind == "ssh" for mount in self.agent_mounts):
            caps.add("exec.mount.ssh")
        return op, caps

    def _env(self) -> list[tuple[str, str]]:
        env = list(self.state.env.items())
        sockets = [mount.dest for mount in self.agent_mounts if mount.kind == "ssh"]
        if sockets and self.state.env_value("SSH_AUTH_SOCK") is None:
            env.append(("SSH_AUTH_SOCK", sockets[0]))
        return env

    def _mount_pb(
        self,
        mount: Mount,
        op: ops_pb2.Op,
        input_index: dict[tuple[str, int], int],
        context: MarshalContext,
    ) -> ops_pb2.Mount:
        result = ops_pb2.Mount(
            input=-1,
            dest=mount.dest,
            selector=mount.selector,
            readonly=mount.readonly,
            output=self.output_index.get(mount.dest, -1),
        )
        source = mount.source.output if mount.source is not None else None
        if source is not None:
            edge = context.input_of(source)
            key = (edge.digest, edge.index)
            if key not in input_index:
                input_index[key] = len(op.inputs)
                op.inputs.append(edge)
            result.input = input_index[key]
        if mount.kind == "cache":
            result.mountType = ops_pb2.CACHE
            result.cacheOpt.CopyFrom(
                ops_pb2.CacheOpt(ID=mount.id, sharing=_CACHE_SHARING[mount.sharing])
            )
        elif mount.kind == "tmpfs":
            result.mountType = ops_pb2.TMPFS
            result.TmpfsOpt.CopyFrom(ops_pb2.TmpfsOpt(size=mount.size_bytes or 0))
        return result


def _mount_caps(mount: Mount) -> set[str]:
    caps = set()
    if mount.selector:
        caps.add("exec.mount.selector")
    if mount.kind == "cache":
        caps.update(("exec.mount.cache", "exec.mount.cache.sharing"))
    elif mount.kind == "tmpfs":
        caps.add("exec.mount.tmpfs")
        if mount.size_bytes:
            caps.add("exec.mount.tmpfs.size")
    elif mount.source is not None and mount.source.output is not None:
        caps.add("exec.mount.bind")
    return caps


def _agent_mount_pb(mount: Mount) -> ops_pb2.Mount:
    # Secret and SSH mounts follow the sorted mounts, have no input and keep
    # output 0 as in Go's client; the daemon ignores their output field.
    if mount.kind == "secret":
        return ops_pb2.Mount(
            input=-1,
            dest=mount.dest,
            mountType=ops_pb2.SECRET,
            secretOpt=ops_pb2.SecretOpt(
                ID=mount.id,
                uid=mount.uid,
                gid=mount.gid,
                mode=mount.mode,
                optional=mount.optional,
            ),
        )
    return ops_pb2.Mount(
        input=-1,
        dest=mount.dest,
        mountType=ops_pb2.SSH,
        SSHOpt=ops_pb2.SSHOpt(
            ID=mount.id,
            uid=mount.uid,
            gid=mount.gid,
            mode=mount.mode,
            optional=mount.optional,
        ),
    )


@dataclass(frozen=True)
class ExecState(State):
    """The root filesystem after an exec, with access to its other mounts."""

    _exec: ExecVertex | None = None

    def mount_output(self, dest: str) -> State:
        """Return the filesystem of the mount at ``dest`` after the exec.

        A writable bind mount gives the exec's output for it; a read-only
        bind mount gives its unchanged source. Cache, tmpfs, secret and SSH
        mounts, and bind mounts created with ``output=False``, have none.
        """
        vertex = self._exec
        assert vertex is not None, "ExecState is only built by State.run"
        for mount in vertex.mounts:
            if mount.dest != dest or dest == "/":
                continue
            if mount.has_output():
                output = Output(vertex, vertex.output_index[dest])
                return State(_output=output, _platform=self.platform)
            if mount.kind == "bind" and mount.readonly:
                return mount.source if mount.source is not None else State()
            raise ValueError(
                f"the {mount.kind} mount at {dest!r} has no output:"
                " only writable bind mounts with output=True have one"
            )
        raise ValueError(
            f"the exec has no mount at {dest!r}: pass the destination of a"
            " non-root mount given to State.run"
        )

    @property
    def root(self) -> State:
        """The root filesystem after the exec, as a plain state."""
        return self._derive()


def new_exec_state(
    base: State,
    settings: State,
    args: Sequence[str],
    *,
    mounts: Sequence[Mount],
    network: str,
    security: str,
    proxy_env: ProxyEnv | None,
    hostname: str | None,
    readonly_rootfs: bool,
    name: str | None,
    description: Mapping[str, str] | None,
    ignore_cache: bool,
    progress_group: ProgressGroup | None,
) -> ExecState:
    """Build the exec vertex for ``State.run`` and the state after it.

    ``base`` is the state ``run`` was called on. ``settings`` is ``base``
    with the exec-only environment, working directory and user applied.
    """
    if isinstance(args, str) or not args:
        raise ValueError(
            f"invalid exec arguments {args!r}: pass a non-empty list such as"
            " ['/bin/sh', '-c', 'make']"
        )
    if network not in _NETWORK_MODES:
        raise ValueError(
            f"invalid network mode {network!r}: use 'sandbox', 'host' or 'none'"
        )
    if security not in _SECURITY_MODES:
        raise ValueError(
            f"invalid security mode {security!r}: use 'sandbox' or 'insecure'"
        )

    root = Mount("bind", "/", base, readonly=readonly_rootfs)
    sorted_mounts = [root]
    agent_mounts: list[Mount] = []
    destinations = {"/"}
    for mount in mounts:
        if mount.kind in ("secret", "ssh"):
            agent_mounts.append(mount)
            continue
        _check_destination(mount.dest, destinations)
        if mount.kind == "tmpfs" and mount.source is not None:
            raise ValueError(
                f"invalid tmpfs mount at {mount.dest!r}: a tmpfs starts empty,"
                " so build it with llb.tmpfs, which takes no source"
            )
        sorted_mounts.append(mount)
    # Stable sort by destination (bytewise, like Go's strings.Compare);
    # every destination is absolute, so "/" stays first.
    sorted_mounts.sort(key=lambda mount: mount.dest.encode())
    for mount in agent_mounts:
        if mount.kind == "secret" and not mount.dest:
            raise ValueError(
                f"invalid secret mount {mount.id!r}: the destination path is"
                " missing; pass dest to llb.secret_mount"
            )

    vertex = ExecVertex(
        settings,
        tuple(args),
        tuple(sorted_mounts),
        _order_agent_mounts(agent_mounts),
        network,
        security,
        proxy_env,
        hostname or "",
        VertexOptions.build(name, description, ignore_cache, progress_group),
    )
    output = base.output if readonly_rootfs else Output(vertex, 0)
    return ExecState(
        output, tuple(base.env.items()), base.cwd, base.user, base.platform, vertex
    )


def _order_agent_mounts(agent_mounts: list[Mount]) -> tuple[Mount, ...]:
    # Secrets first, then SSH sockets, each in the order given, as Go's
    # client writes them. An SSH mount without a destination gets its
    # default socket path here.
    secrets = [mount for mount in agent_mounts if mount.kind == "secret"]
    sockets: list[Mount] = []
    for mount in agent_mounts:
        if mount.kind != "ssh":
            continue
        dest = mount.dest or f"/run/buildkit/ssh_agent.{len(sockets)}"
        sockets.append(replace(mount, dest=dest))
    return (*secrets, *sockets)


def _check_destination(dest: str, seen: set[str]) -> None:
    if not dest.startswith("/"):
        raise ValueError(
            f"invalid mount destination {dest!r}: it must be an absolute path"
        )
    if dest in seen:
        if dest == "/":
            raise ValueError(
                "invalid mount destination '/': the root filesystem is the"
                " state that State.run is called on, so mount a subdirectory"
            )
        raise ValueError(f"duplicate mount destination {dest!r}: mount each path once")
    seen.add(dest)
