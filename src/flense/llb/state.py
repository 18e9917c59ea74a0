"""The immutable ``State``: a filesystem plus the settings later execs use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flense.llb import paths
from flense.llb.platform import Platform
from flense.llb.vertex import Output, ProgressGroup

if TYPE_CHECKING:
    from flense.llb.exec import ExecState, Mount, ProxyEnv
    from flense.llb.fileop import FileAction


@dataclass(frozen=True)
class State:
    """A filesystem (the output of a vertex, or scratch) and exec settings.

    States never change: every ``with_*`` method, ``run`` and ``file``
    return a new state. The environment, working directory, user and
    platform do not touch the filesystem. They apply to later ``run``
    calls, and the working directory also to relative paths in file
    actions.
    """

    _output: Output | None = None
    _env: tuple[tuple[str, str], ...] = ()
    _cwd: str = "/"
    _user: str = ""
    _platform: Platform | None = None

    @property
    def output(self) -> Output | None:
        """The vertex output this state's filesystem is, or None for scratch."""
        return self._output

    @property
    def env(self) -> dict[str, str]:
        """The environment, as a new dict in the order execs receive it."""
        return dict(self._env)

    @property
    def cwd(self) -> str:
        """The absolute working directory, ``/`` unless set."""
        return self._cwd

    @property
    def user(self) -> str:
        """The exec user (``name``, ``uid`` or ``user:group``); empty means root."""
        return self._user

    @property
    def platform(self) -> Platform | None:
        """The platform set on this state; None means the marshal default."""
        return self._platform

    def is_scratch(self) -> bool:
        """Return True when the filesystem is empty and has no vertex."""
        return self._output is None

    def env_value(self, key: str) -> str | None:
        """Return the value of environment variable ``key``, or None."""
        for name, value in self._env:
            if name == key:
                return value
        return None

    def with_env(self, key: str, value: str) -> State:
        """Set ``key``; replacing a key moves it to the end, as in Go's client."""
        if not key or "=" in key:
            raise ValueError(
                f"invalid environment variable name {key!r}:"
                " it must be non-empty and contain no '='"
            )
        entries = tuple(entry for entry in self._env if entry[0] != key)
        return self._derive(_env=(*entries, (key, value)))

    def with_cwd(self, path: str) -> State:
        """Set the working directory; a relative path joins the current one."""
        if path.startswith("/"):
            return self._derive(_cwd=path)
        return self._derive(_cwd=paths.join(self._cwd or "/", path))

    def with_user(self, user: str) -> State:
        """Set the user later execs run as."""
        return self._derive(_user=user)

    def with_platform(self, platform: Platform) -> State:
        """Set the platform later execs run on."""
        return self._derive(_platform=platform)

    def with_image_config(
        self,
        env: Sequence[str] = (),
        cwd: str | None = None,
        user: str | None = None,
        *,
        platform: Platform | None = None,
    ) -> State:
        """Apply an image's configuration: ``Env``, ``WorkingDir``, ``User``.

        ``llb.image`` does not fetch the image config, so a caller that read
        it from the engine applies it here. ``env`` entries are ``KEY=VALUE``
        strings. As in Go's ``State.WithImageConfig``, an entry without ``=``
        sets an empty value and an entry with an empty key is skipped.
        Unlike Go's method, this one also applies the user.
        """
        state = self
        for entry in env:
            key, _, value = entry.partition("=")
            if key:
                state = state.with_env(key, value)
        if cwd:
            state = state.with_cwd(cwd)
        if user:
            state = state.with_user(user)
        if platform is not None:
            state = state.with_platform(platform)
        return state

    def with_output(self, output: Output | None) -> State:
        """Return a state with this state's settings and another filesystem."""
        return self._derive(_output=output)

    def run(
        self,
        args: Sequence[str],
        *,
        mounts: Sequence[Mount] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        network: str = "sandbox",
        security: str = "sandbox",
        proxy_env: ProxyEnv | None = None,
        hostname: str | None = None,
        readonly_rootfs: bool = False,
        name: str | None = None,
        description: Mapping[str, str] | None = None,
        ignore_cache: bool = False,
        progress_group: ProgressGroup | None = None,
    ) -> ExecState:
        """Run ``args`` in a container whose root filesystem is this state.

        ``env``, ``cwd`` and ``user`` apply to this exec only; the returned
        state keeps this state's settings, as Go's ``State.Run`` does.
        ``network`` is ``sandbox``, ``host`` or ``none`` and ``security`` is
        ``sandbox`` or ``insecure``; ``host`` and ``insecure`` need the
        matching entitlement on the build request. When ``PATH`` is not in
        the environment, the daemon sets a default one.
        """
        from flense.llb.exec import new_exec_state

        state = self
        for key, value in (env or {}).items():
            state = state.with_env(key, value)
        if cwd is not None:
            state = state.with_cwd(cwd)
        if user is not None:
            state = state.with_user(user)
        return new_exec_state(
            self,
            state,
            args,
            mounts=mounts,
            network=network,
            security=security,
            proxy_env=proxy_env,
            hostname=hostname,
            readonly_rootfs=readonly_rootfs,
            name=name,
            description=description,
            ignore_cache=ignore_cache,
            progress_group=progress_group,
        )

    def file(
        self,
        action: FileAction,
        *,
        name: str | None = None,
        description: Mapping[str, str] | None = None,
        ignore_cache: bool = False,
        progress_group: ProgressGroup | None = None,
    ) -> State:
        """Apply a chain of file actions to this state as one FileOp.

        Relative paths in the actions are resolved against this state's
        working directory.
        """
        from flense.llb.fileop import new_file_output

        output = new_file_output(
            self,
            action,
            name=name,
            description=description,
            ignore_cache=ignore_cache,
            progress_group=progress_group,
        )
        return self.with_output(output)

    def _derive(self, **changes: Any) -> State:
        # Always a plain State, also from an ExecState: the exec-only
        # methods do not carry over to derived states.
        fields: dict[str, Any] = {
            "_output": self._output,
            "_env": self._env,
            "_cwd": self._cwd,
            "_user": self._user,
            "_platform": self._platform,
        }
        fields.update(changes)
        return State(**fields)


def scratch() -> State:
    """Return the empty filesystem; it has no vertex of its own."""
    return State()
