"""Turn compiled Blubber stages into an LLB graph and an OCI image config.

This is the LLB backend of ``flense.blubber``, and it builds what Blubber
1.8's own BuildKit compiler builds:

* Each stage starts from ``llb.image(base)`` with the base image's config
  applied (ENV on the build state, then WORKDIR and USER), or from scratch
  with ``PATH`` and working directory ``/``. The eight ``BUILD*`` and
  ``TARGET*`` platform variables are added to the build environment.
* ``Run`` becomes an exec of ``/bin/sh -c <expanded text>`` with the
  stage's environment, user and working directory, and ``RunScript`` an
  exec of the script mounted read-only from a scratch file op.
* ``CopyLocal`` and ``CopyFrom`` become one file op each, with one copy
  action per source. Each copy follows symlinks, copies directory
  contents, creates missing parents, allows wildcards (an empty match
  too) and never unpacks archives. It gets the instruction's exclude
  patterns and its owner as numeric ids.
* ``MakeFile`` becomes a file op that writes the file.
* Builder mounts become bind mounts (discarded after the command), and
  caches become cache mounts. A cache whose owner is not ``0:0`` has a
  ``/cache`` directory with that owner as its source, so a command run as
  the lives user can write to a new cache.
* ``Env``, ``User``, ``WorkingDirectory``, ``Entrypoint`` and ``Label``
  also change the image config, which ``flense.blubber.image.replay``
  computes.

The build context is a parameter: a standalone build passes
``llb.local("context")``, and a manifest passes the component's files
re-rooted at ``/`` (see ``flense.builders.blubber``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flense import llb
from flense.blubber import paths
from flense.blubber.baseimage import BaseImage, ImageConfigResolver
from flense.blubber.image import (
    ImageConfig,
    platform_environment,
    replay,
    scratch_config,
)
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
from flense.blubber.variables import expand_variables

__all__ = ["CACHE_SOURCE_DIRECTORY", "VariantGraph", "build_graph", "oci_config"]

CACHE_SOURCE_DIRECTORY = "/cache"
CACHE_SOURCE_MODE = 0o755
SCRIPT_FILE_MODE = 0o555


@dataclass(frozen=True)
class VariantGraph:
    """The LLB of a compiled variant.

    ``state`` is the target stage's final filesystem, ``stages`` the final
    state of every stage by variant name, and ``image_config`` the OCI image
    config of the target (``architecture``, ``os``, ``config`` with ``Env``,
    ``User``, ``WorkingDir``, ``Entrypoint``, ``Cmd`` and ``Labels``), ready
    for ``json.dumps``.
    """

    state: llb.State
    stages: Mapping[str, llb.State]
    image_config: dict[str, object]


def build_graph(
    stages: Sequence[Stage],
    context: llb.State,
    *,
    resolver: ImageConfigResolver,
    platform: llb.Platform | None = None,
    build_arguments: Mapping[str, str] | None = None,
    label: str | None = None,
    description: Mapping[str, str] | None = None,
) -> VariantGraph:
    """Build the LLB of ``stages`` (leaves first, target last).

    ``context`` is the build context that local copies and ``local`` mounts
    read from. ``platform`` (default: the machine's) sets the platform
    variables and the image config's platform, so marshal the result for
    the same platform. ``build_arguments`` override the defaults of the
    stages' build arguments. Vertices are named ``[<variant>] <step>``, or
    ``[<label>] <variant>: <step>`` when ``label`` is given, and carry
    ``description`` as metadata.
    """
    if not stages:
        raise ValueError("build_graph needs at least one stage")
    platform = platform or llb.Platform()
    final_states: dict[str, llb.State] = {}
    target_base = BaseImage("")
    for stage in stages:
        base = resolver.resolve(stage.base, platform) if stage.base else None
        builder = _StageBuilder(
            stage,
            base,
            context,
            final_states,
            platform,
            dict(build_arguments or {}),
            label,
            dict(description or {}),
        )
        final_states[stage.name] = builder.build()
        target_base = base or BaseImage("")

    target = stages[-1]
    base_config = target_base.config if target.base else scratch_config()
    result = replay(
        target,
        base_config,
        build_arguments,
        platform_environment(platform.os, platform.architecture, platform.variant),
    )
    image_config = oci_config(
        result.config,
        architecture=target_base.architecture or platform.architecture,
        os=target_base.os or platform.os,
        variant=platform.variant if not target_base.architecture else "",
    )
    return VariantGraph(final_states[target.name], dict(final_states), image_config)


def oci_config(
    config: ImageConfig, *, architecture: str, os: str, variant: str = ""
) -> dict[str, object]:
    """Return an OCI image config, leaving out empty fields as Go's JSON does."""
    inner: dict[str, object] = {}
    if config.env:
        inner["Env"] = list(config.env)
    if config.user:
        inner["User"] = config.user
    if config.working_dir:
        inner["WorkingDir"] = config.working_dir
    if config.entrypoint:
        inner["Entrypoint"] = list(config.entrypoint)
    if config.cmd:
        inner["Cmd"] = list(config.cmd)
    if config.labels:
        inner["Labels"] = dict(sorted(config.labels.items()))
    image: dict[str, object] = {"architecture": architecture, "os": os}
    if variant:
        image["variant"] = variant
    image["config"] = inner
    image["rootfs"] = {"type": "layers", "diff_ids": []}
    return image


class _StageBuilder:
    """Applies one stage's instructions to an LLB state."""

    def __init__(
        self,
        stage: Stage,
        base: BaseImage | None,
        context: llb.State,
        final_states: Mapping[str, llb.State],
        platform: llb.Platform,
        build_arguments: dict[str, str],
        label: str | None,
        description: dict[str, str],
    ) -> None:
        self.stage = stage
        self.base = base
        self.context = context
        self.final_states = final_states
        self.platform = platform
        self.build_arguments = build_arguments
        self.label = label
        self.description = description
        # The build-time environment that ``$`` references expand against.
        # It always equals the state's environment.
        self.environment: dict[str, str] = {}
        self.state = llb.scratch()

    def build(self) -> llb.State:
        self._start()
        for instruction in self.stage.instructions:
            self._apply(instruction)
        return self.state

    # --- naming -------------------------------------------------------------

    def _name(self, step: str) -> str:
        if self.label is None:
            return f"[{self.stage.name}] {step}"
        return f"[{self.label}] {self.stage.name}: {step}"

    # --- state ----------------------------------------------------------------

    def _start(self) -> None:
        if self.base is None:
            config = scratch_config()
            self.state = llb.scratch()
        else:
            config = self.base.config
            self.state = llb.image(
                self.base.reference,
                name=self._name(f"from {self.base.reference}"),
                description=self.description,
            )
        for entry in config.env:
            name, _, value = entry.partition("=")
            if name:
                self._set_env(name, value)
        if config.working_dir:
            self.state = self.state.with_cwd(config.working_dir)
        if config.user:
            self.state = self.state.with_user(self._expand(config.user))

        variables = platform_environment(
            self.platform.os, self.platform.architecture, self.platform.variant
        )
        for name in sorted(variables):
            self._set_env(name, self._expand(variables[name]))

    def _set_env(self, name: str, value: str) -> None:
        self.environment[name] = value
        self.state = self.state.with_env(name, value)

    def _expand(self, text: str) -> str:
        return expand_variables(text, self.environment)

    def _apply(self, instruction: object) -> None:
        match instruction:
            case BuildArgument(name=name, default=default):
                self._set_env(name, self.build_arguments.get(name, default))
            case Env(variables=variables):
                for name, value in variables:
                    self._set_env(name, self._expand(value))
            case User(user=user):
                self.state = self.state.with_user(self._expand(user))
            case WorkingDirectory(path=path):
                # Blubber expands the working directory for the image config
                # only; the build state gets the path as written.
                self.state = self.state.with_cwd(path)
            case Run(command=command, mounts=mounts):
                text = self._expand(command)
                self._run(("/bin/sh", "-c", text), mounts, text)
            case RunScript(mounts=mounts):
                self._run_script(instruction, mounts)
            case CopyLocal(
                sources=sources, destination=destination, owner=owner, exclude=exclude
            ):
                self._copy(
                    self.context, "context", sources, destination, owner, exclude
                )
            case CopyFrom(
                origin=origin,
                sources=sources,
                destination=destination,
                owner=owner,
                exclude=exclude,
            ):
                source, source_name = self._origin(origin)
                self._copy(source, source_name, sources, destination, owner, exclude)
            case MakeFile(path=path, mode=mode, content=content):
                self.state = self.state.file(
                    llb.mkfile(path, mode, content),
                    name=self._name(f"file {path}"),
                    description=self.description,
                )
            case Entrypoint() | Label():
                pass  # image config only, see replay()
            case _:
                raise TypeError(f"not a Blubber instruction: {instruction!r}")

    # --- execs ----------------------------------------------------------------

    def _run(
        self,
        args: tuple[str, ...],
        mounts: Sequence[Mount],
        text: str,
        extra_mounts: Sequence[llb.Mount] = (),
    ) -> None:
        user = self.state.user or "0"
        prompt = "#" if user in ("0", "root") else f"@{user} $"
        self.state = self.state.run(
            args,
            mounts=[*(self._mount(mount) for mount in mounts), *extra_mounts],
            name=self._name(f"{prompt} {text}"),
            description=self.description,
        ).root

    def _run_script(self, script: RunScript, mounts: Sequence[Mount]) -> None:
        short = script.digest[:8]
        script_state = llb.scratch().file(
            llb.mkfile("/script", SCRIPT_FILE_MODE, script.script),
            name=self._name(f"script {short}"),
            description=self.description,
        )
        script_mount = llb.bind(f"/{script.digest}", script_state, readonly=True)
        self._run((script.path,), mounts, f"[script {short}]", [script_mount])

    def _mount(self, mount: Mount) -> llb.Mount:
        match mount:
            case BindMount(
                origin=origin, destination=destination, source=path, readonly=ro
            ):
                state, _ = self._origin(origin)
                # Writes to a builder mount are discarded, as in Blubber, so
                # the mount has no output of its own.
                return llb.bind(
                    self._mount_destination(destination),
                    state,
                    selector=self._expand(path),
                    readonly=ro,
                    output=False,
                )
            case CacheMount(
                destination=destination, id=cache_id, sharing=sharing, owner=owner
            ):
                expanded = self._expand(destination)
                uid, gid = self._numeric_owner(owner)
                cache_source: llb.State | None = None
                selector = ""
                if uid != 0 or gid != 0:
                    cache_source = llb.scratch().file(
                        llb.mkdir(
                            CACHE_SOURCE_DIRECTORY,
                            CACHE_SOURCE_MODE,
                            owner=llb.Owner(uid, gid),
                        ),
                        name=self._name(f"cache directory owned by {uid}:{gid}"),
                        description=self.description,
                    )
                    selector = CACHE_SOURCE_DIRECTORY
                return llb.cache_mount(
                    self._mount_destination(destination),
                    cache_id or expanded,
                    sharing,
                    source=cache_source,
                    selector=selector,
                )
        raise TypeError(f"not a Blubber mount: {mount!r}")

    def _mount_destination(self, destination: str) -> str:
        expanded = self._expand(destination)
        if paths.is_abs(expanded):
            return paths.clean(expanded)
        return paths.join("/", self.state.cwd, expanded)

    def _numeric_owner(self, owner: Owner) -> tuple[int, int]:
        # Blubber parses the expanded ids with strconv.Atoi and uses 0 when
        # that fails.
        return _to_int(self._expand(owner.uid)), _to_int(self._expand(owner.gid))

    # --- files ----------------------------------------------------------------

    def _origin(
        self, origin: BuildContext | StageSource | ImageSource
    ) -> tuple[llb.State, str]:
        match origin:
            case BuildContext():
                return self.context, "context"
            case StageSource(name=name):
                assert name in self.final_states, f"stage {name} is built first"
                return self.final_states[name], name
            case ImageSource(reference=reference):
                image = llb.image(
                    reference,
                    name=self._name(f"from {reference}"),
                    description=self.description,
                )
                return image, reference
        raise TypeError(f"not a Blubber source: {origin!r}")

    def _copy(
        self,
        source: llb.State,
        source_name: str,
        sources: Sequence[str],
        destination: str,
        owner: Owner | None,
        exclude: Sequence[str],
    ) -> None:
        owner_text = None
        if owner is not None:
            owner_text = self._expand(f"{owner.uid}:{owner.gid}")
        action: llb.FileAction | None = None
        for path in sources:
            copy = llb.copy if action is None else action.copy
            action = copy(
                source,
                path,
                destination,
                owner=owner_text,
                follow_symlinks=True,
                copy_dir_contents=True,
                create_dest_path=True,
                allow_wildcard=True,
                allow_empty_wildcard=True,
                exclude=exclude,
            )
        assert action is not None, "a copy instruction has at least one source"
        step = f"copy {source_name}:[{', '.join(sources)}] -> {destination}"
        self.state = self.state.file(
            action, name=self._name(step), description=self.description
        )


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
