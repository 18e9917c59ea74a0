"""Blubber variants compiled to LLB: decoded ops, image configs, manifest mode.

Base image configs come from an ``ImageTable``, so these tests need no
engine. Graphs are marshalled for linux/amd64 so digests do not depend on
the machine.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import pytest

from flense import llb
from flense.blubber import compile_file
from flense.blubber.baseimage import (
    BaseImage,
    DockerImageResolver,
    ImageTable,
    parse_inspect,
)
from flense.blubber.graph import VariantGraph, build_graph
from flense.blubber.image import DEFAULT_PATH, ImageConfig, replay
from flense.builders.base import BuildSettings, ComponentOutput
from flense.builders.blubber import (
    build_blubber,
    compile_variant,
    manifest_context,
    standalone_context,
    standalone_graph,
)
from flense.llb.marshal import DefinitionOp
from flense.llb.proto import ops_pb2
from flense.manifest import Component, load_manifest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blubber"
AMD64 = llb.Platform(os="linux", architecture="amd64")

NODE_PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin"
NODE_IMAGE = BaseImage(
    "docker-registry.wikimedia.org/nodejs10-devel",
    ImageConfig(
        env=(NODE_PATH_ENV, "NODE_VERSION=10.24.1"),
        user="node",
        working_dir="/srv",
        cmd=("node",),
        labels={"maintainer": "releng"},
    ),
    architecture="amd64",
    os="linux",
)
DEBIAN_IMAGE = BaseImage(
    "debian:bookworm",
    ImageConfig(env=(NODE_PATH_ENV,), cmd=("bash",), labels={"vendor": "debian"}),
    architecture="amd64",
    os="linux",
)
TABLE = ImageTable(
    {
        NODE_IMAGE.reference: NODE_IMAGE,
        DEBIAN_IMAGE.reference: DEBIAN_IMAGE,
        "docker-registry.wikimedia.org/golang1.22": BaseImage(
            "docker-registry.wikimedia.org/golang1.22",
            ImageConfig(env=(NODE_PATH_ENV, "GOPATH=/go")),
        ),
    }
)

PLATFORM_ENV = [
    "BUILDARCH=amd64",
    "BUILDOS=linux",
    "BUILDPLATFORM=linux/amd64",
    "BUILDVARIANT=",
    "TARGETARCH=amd64",
    "TARGETOS=linux",
    "TARGETPLATFORM=linux/amd64",
    "TARGETVARIANT=",
]


# --- helpers -------------------------------------------------------------------


def graph_of(
    name: str, variant: str, build_arguments: dict[str, str] | None = None
) -> VariantGraph:
    return build_graph(
        compile_file(FIXTURES / name, variant),
        llb.local("context"),
        resolver=TABLE,
        platform=AMD64,
        build_arguments=build_arguments,
    )


def ops_of(state: llb.State) -> list[DefinitionOp]:
    """Every op of the marshalled state except the terminal one, in def order."""
    return llb.marshal(state, platform=AMD64).ops[:-1]


def execs(state: llb.State) -> list[DefinitionOp]:
    return [entry for entry in ops_of(state) if entry.op.HasField("exec")]


def exec_running(state: llb.State, text: str) -> ops_pb2.ExecOp:
    """The exec whose shell command or argument list contains ``text``."""
    matches = [
        entry.op.exec
        for entry in execs(state)
        if any(text in arg for arg in entry.op.exec.meta.args)
    ]
    assert len(matches) == 1, f"{len(matches)} execs run {text!r}"
    return matches[0]


def copy_actions(state: llb.State) -> list[ops_pb2.FileActionCopy]:
    return [
        action.copy
        for entry in ops_of(state)
        if entry.op.HasField("file")
        for action in entry.op.file.actions
        if action.HasField("copy")
    ]


def copy_of(state: llb.State, src: str) -> ops_pb2.FileActionCopy:
    matches = [action for action in copy_actions(state) if action.src == src]
    assert len(matches) == 1, f"{len(matches)} copies of {src!r}"
    return matches[0]


def names(state: llb.State) -> list[str]:
    return [
        entry.metadata.description["llb.customname"]
        for entry in ops_of(state)
        if "llb.customname" in entry.metadata.description
    ]


def owner_ids(copy: ops_pb2.FileActionCopy) -> tuple[int, int] | None:
    if not copy.HasField("owner"):
        return None
    return copy.owner.user.byID, copy.owner.group.byID


def config_of(graph: VariantGraph) -> dict[str, object]:
    inner = graph.image_config["config"]
    assert isinstance(inner, dict)
    return inner


# --- popups (case 10): execs, env, user, cwd, copies ---------------------------


def test_popups_lives_chain_as_root() -> None:
    state = graph_of("case10-popups.yaml", "distribution").stages["prep"]
    exec_op = exec_running(state, "/srv/mediawiki")
    assert list(exec_op.meta.args[:2]) == ["/bin/sh", "-c"]
    assert exec_op.meta.args[2] == (
        '(getent group "65533" || groupadd -o -g "65533" -r "somebody")'
        ' && (getent passwd "65533" || useradd -l -o -m -d "/home/somebody"'
        ' -r -g "65533" -u "65533" "somebody")'
        ' && mkdir -p "/srv/mediawiki" && chown "65533":"65533" "/srv/mediawiki"'
        ' && mkdir -p "/opt/lib" && chown "65533":"65533" "/opt/lib"'
    )
    assert exec_op.meta.user == "0"
    # The base image's working directory applies until lives.in.
    assert exec_op.meta.cwd == "/srv"


def test_popups_exec_environment() -> None:
    state = graph_of("case10-popups.yaml", "distribution").stages["prep"]
    env = list(exec_running(state, "npm install").meta.env)
    assert env[:2] == [NODE_PATH_ENV, "NODE_VERSION=10.24.1"]
    assert env[2:10] == PLATFORM_ENV
    assert "LIVES_UID=65533" in env
    assert "RUNS_AS=runuser" in env
    assert env[-1] == "HOME=/home/somebody"


@pytest.mark.parametrize(
    ("command", "user", "cwd"),
    [
        ("npm install", "65533", "/srv/mediawiki"),
        ('npm "run-script" "build"', "65533", "/srv/mediawiki"),
    ],
)
def test_popups_builder_execs(command: str, user: str, cwd: str) -> None:
    state = graph_of("case10-popups.yaml", "distribution").stages["prep"]
    exec_op = exec_running(state, command)
    assert list(exec_op.meta.args) == ["/bin/sh", "-c", command]
    assert exec_op.meta.user == user
    assert exec_op.meta.cwd == cwd


@pytest.mark.parametrize(
    ("src", "dest"),
    [
        ("/package.json", "/srv/mediawiki/"),
        ("/package-lock.json", "/srv/mediawiki/"),
        ("/src", "/srv/mediawiki/src/"),
        ("/resources", "/srv/mediawiki/resources/"),
        ("/webpack.config.js", "/srv/mediawiki/"),
    ],
)
def test_popups_requirement_copies(src: str, dest: str) -> None:
    state = graph_of("case10-popups.yaml", "distribution").state
    copy = copy_of(state, src)
    assert copy.dest == dest
    assert owner_ids(copy) == (65533, 65533)
    assert copy.followSymlink
    assert copy.dirCopyContents
    assert copy.createDestPath
    assert copy.allowWildcard
    assert copy.allowEmptyWildcard
    assert not copy.attemptUnpackDockerCompatibility
    assert copy.mode == -1


def test_popups_requirements_one_op_per_group() -> None:
    state = graph_of("case10-popups.yaml", "distribution").state
    grouped = [
        entry
        for entry in ops_of(state)
        if entry.op.HasField("file") and len(entry.op.file.actions) == 2
    ]
    assert len(grouped) == 1
    sources = [action.copy.src for action in grouped[0].op.file.actions]
    assert sources == ["/package.json", "/package-lock.json"]


def test_popups_distribution_copy() -> None:
    state = graph_of("case10-popups.yaml", "distribution").state
    copy = copy_of(state, "/srv/mediawiki")
    assert copy.dest == "/dist"
    assert owner_ids(copy) is None
    head = ops_of(state)[-1]
    # The distribution stage is scratch: its copy has no base input.
    assert head.op.file.actions[0].input == -1


def test_popups_image_config() -> None:
    graph = graph_of("case10-popups.yaml", "distribution")
    config = config_of(graph)
    assert config["Env"] == [f"PATH={DEFAULT_PATH}"]
    assert config["WorkingDir"] == "/"
    assert "User" not in config
    assert "Entrypoint" not in config
    assert config["Labels"] == {
        "blubber.variant": "distribution",
        "blubber.version": "1.8.0+flense",
    }
    assert graph.image_config["architecture"] == "amd64"
    assert graph.image_config["os"] == "linux"


def test_popups_vertex_names() -> None:
    state = graph_of("case10-popups.yaml", "distribution").state
    shown = names(state)
    assert shown[0] == "[prep] from docker-registry.wikimedia.org/nodejs10-devel"
    assert "[prep] @65533 $ npm install" in shown
    assert "[distribution] copy prep:[/srv/mediawiki] -> /dist" in shown


def test_popups_env_matches_replay() -> None:
    stages = compile_file(FIXTURES / "case10-popups.yaml", "distribution")
    graph = build_graph(stages, llb.local("context"), resolver=TABLE, platform=AMD64)
    expected = dict(replay(stages[0], NODE_IMAGE.config).build_env)
    assert graph.stages["prep"].env == expected


# --- image configs with a base -------------------------------------------------


def test_local_copy_image_config() -> None:
    graph = graph_of("case02-local-copy.yaml", "hello")
    config = config_of(graph)
    assert config["Entrypoint"] == ["./run.sh"]
    assert "Cmd" not in config
    assert config["User"] == "900"
    assert config["WorkingDir"] == "/srv/app"
    assert config["Env"] == [NODE_PATH_ENV, "HOME=/home/runuser"]
    assert config["Labels"] == {
        "blubber.variant": "hello",
        "blubber.version": "1.8.0+flense",
        "vendor": "debian",
    }


def test_local_copy_owned_by_runs_user() -> None:
    state = graph_of("case02-local-copy.yaml", "hello").state
    copy = copy_of(state, "/")
    assert copy.dest == "/srv/app"
    assert owner_ids(copy) == (65533, 65533)


def test_insecurely_keeps_lives_user() -> None:
    graph = graph_of("case12-insecurely.yaml", "test")
    assert config_of(graph)["User"] == "65533"


def test_build_argument_overrides_owner() -> None:
    graph = graph_of("case02-local-copy.yaml", "hello", {"LIVES_UID": "1234"})
    copy = copy_of(graph.state, "/")
    assert owner_ids(copy) == (1234, 65533)


def test_base_without_config() -> None:
    graph = build_graph(
        compile_file(FIXTURES / "case01-bare.yaml", "dev"),
        llb.local("context"),
        resolver=ImageTable(),
        platform=AMD64,
    )
    config = config_of(graph)
    assert config["Env"] == ["HOME=/home/runuser"]
    assert config["User"] == "900"


# --- builders with mounts and caches (case 15) ---------------------------------


def build_exec() -> ops_pb2.Op:
    state = graph_of("case15-builders-mounts.yaml", "web").stages["build"]
    matches = [
        entry.op for entry in execs(state) if entry.op.exec.meta.args[-1] == "go build"
    ]
    assert len(matches) == 1
    return matches[0]


def test_mounts_bind_from_variant() -> None:
    op = build_exec()
    mounts = {mount.dest: mount for mount in op.exec.mounts}
    bind = mounts["/srv/app/dist"]
    assert bind.mountType == ops_pb2.BIND
    assert bind.selector == "/src/dist"
    assert not bind.readonly
    assert bind.output == -1


def test_mounts_bind_source_is_stage() -> None:
    graph = graph_of("case15-builders-mounts.yaml", "web")
    assets = llb.marshal(graph.stages["assets"], platform=AMD64).head
    op = build_exec()
    bind = next(mount for mount in op.exec.mounts if mount.dest == "/srv/app/dist")
    assert op.inputs[bind.input].digest == assets


def test_mounts_cache() -> None:
    op = build_exec()
    cache = next(mount for mount in op.exec.mounts if mount.dest == "/var/cache/go")
    assert cache.mountType == ops_pb2.CACHE
    assert cache.cacheOpt.ID == "/var/cache/go"
    assert cache.cacheOpt.sharing == ops_pb2.SHARED
    assert cache.selector == "/cache"


def test_mounts_cache_source_owned_by_lives() -> None:
    state = graph_of("case15-builders-mounts.yaml", "web").stages["build"]
    mkdirs = [
        action.mkdir
        for entry in ops_of(state)
        if entry.op.HasField("file")
        for action in entry.op.file.actions
        if action.HasField("mkdir")
    ]
    assert len(mkdirs) == 1
    assert mkdirs[0].path == "/cache"
    assert mkdirs[0].mode == 0o755
    assert mkdirs[0].owner.user.byID == 65533
    assert mkdirs[0].owner.group.byID == 65533


def test_mounts_exec_env_has_runs_environment() -> None:
    env = list(build_exec().exec.meta.env)
    assert "GOCACHE=/var/cache/go" in env
    assert "GOPATH=/go" in env


def test_copy_from_variant_working_directory() -> None:
    graph = graph_of("case15-builders-mounts.yaml", "web")
    copy = copy_of(graph.state, "/srv/app/web-app")
    assert copy.dest == "/usr/bin/web-app"
    assert owner_ids(copy) is None
    assert config_of(graph)["Entrypoint"] == ["/usr/bin/web-app"]
    assert "User" not in config_of(graph)


def test_copies_chain_stage_inputs() -> None:
    graph = graph_of("case14-copies-chain.yaml", "three")
    two = llb.marshal(graph.stages["two"], platform=AMD64).head
    last_two = ops_of(graph.state)[-2:]
    copies = [entry.op.file.actions[0].copy.src for entry in last_two]
    assert copies == ["/srv/app", "/opt/lib"]
    for entry in last_two:
        action = entry.op.file.actions[0]
        assert entry.op.inputs[action.secondaryInput].digest == two


# --- scripts, APT files, excludes ------------------------------------------------

SCRIPT_CONFIG = """\
version: v4
base: debian:bookworm
variants:
  build:
    apt:
      proxies: [http://proxy.example:3128]
    builder:
      script: |
        echo built > out.txt
    copies:
      - from: local
        source: .
        destination: .
        exclude: [secrets/]
"""


def script_graph(tmp_path: Path) -> VariantGraph:
    config = tmp_path / "blubber.yaml"
    config.write_text(SCRIPT_CONFIG)
    return build_graph(
        compile_file(config, "build"),
        llb.local("context"),
        resolver=TABLE,
        platform=AMD64,
    )


def test_script_runs_from_mount(tmp_path: Path) -> None:
    script = b"#!/bin/sh\necho built > out.txt\n"
    digest = hashlib.sha256(script).hexdigest()
    exec_op = exec_running(script_graph(tmp_path).state, f"/{digest}/script")
    assert list(exec_op.meta.args) == [f"/{digest}/script"]
    mount = next(m for m in exec_op.mounts if m.dest == f"/{digest}")
    assert mount.readonly


def test_script_file_mode(tmp_path: Path) -> None:
    files = [
        action.mkfile
        for entry in ops_of(script_graph(tmp_path).state)
        if entry.op.HasField("file")
        for action in entry.op.file.actions
        if action.HasField("mkfile")
    ]
    by_path = {mkfile.path: mkfile for mkfile in files}
    assert by_path["/script"].mode == 0o555
    assert by_path["/script"].data == b"#!/bin/sh\necho built > out.txt\n"
    proxy = by_path["/etc/apt/apt.conf.d/99blubber-proxies"]
    assert proxy.mode == 0o644
    assert proxy.data == b'Acquire::http::Proxy "http://proxy.example:3128";\n'


def test_copy_exclude_patterns(tmp_path: Path) -> None:
    copy = copy_of(script_graph(tmp_path).state, "/")
    assert list(copy.exclude_patterns) == ["secrets/"]


# --- resolver ---------------------------------------------------------------------


def test_parse_inspect_fields() -> None:
    image = parse_inspect(
        "flense-test/node:latest",
        {
            "Architecture": "arm64",
            "Os": "linux",
            "Config": {
                "Env": ["PATH=/bin", "LANG=C.UTF-8"],
                "WorkingDir": "/srv",
                "User": "node",
                "Entrypoint": None,
                "Cmd": ["node"],
                "Labels": {"a": "b"},
            },
        },
    )
    assert image.config == ImageConfig(
        env=("PATH=/bin", "LANG=C.UTF-8"),
        user="node",
        working_dir="/srv",
        entrypoint=None,
        cmd=("node",),
        labels={"a": "b"},
    )
    assert image.architecture == "arm64"
    assert image.os == "linux"


def test_parse_inspect_null_config() -> None:
    image = parse_inspect("x", {"Config": None})
    assert image.config == ImageConfig()


def test_resolver_without_engine_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = DockerImageResolver(f"docker://{tmp_path}/missing.sock")
    with caplog.at_level(logging.WARNING, logger="flense.blubber.baseimage"):
        image = resolver.resolve("debian:bookworm", AMD64)
    assert image == BaseImage("debian:bookworm")
    assert "cannot read the config of base image debian:bookworm" in caplog.text


def test_resolver_unknown_table_entry() -> None:
    assert TABLE.resolve("alpine", AMD64) == BaseImage("alpine")


# --- manifest mode ------------------------------------------------------------------

MANIFEST = """\
destination:
  root: /srv/mediawiki
  exclude: [.git, "**/node_modules"]
components:
  - source: extensions/Popups
    builder: blubber
    variant: distribution
"""


def popups_context(tmp_path: Path) -> Path:
    component = tmp_path / "extensions" / "Popups"
    (component / ".pipeline").mkdir(parents=True)
    shutil.copy(FIXTURES / "case10-popups.yaml", component / ".pipeline/blubber.yaml")
    for directory in ("src", "resources"):
        (component / directory).mkdir()
    for name in ("package.json", "package-lock.json", "webpack.config.js"):
        (component / name).write_text("{}\n")
    (tmp_path / ".pipeline").mkdir()
    (tmp_path / ".pipeline" / "manifest.yaml").write_text(MANIFEST)
    return component


def manifest_output(
    tmp_path: Path,
) -> tuple[Component, BuildSettings, ComponentOutput]:
    popups_context(tmp_path)
    manifest = load_manifest(tmp_path / ".pipeline" / "manifest.yaml", tmp_path)
    settings = BuildSettings(context=tmp_path, exclude=manifest.exclude)
    component = manifest.components[0]
    output = build_blubber(component, settings, resolver=TABLE, platform=AMD64)
    return component, settings, output


def test_manifest_output_is_lives_in(tmp_path: Path) -> None:
    _, settings, output = manifest_output(tmp_path)
    assert output.path == "/dist"
    assert output.exclude == settings.exclude


def test_manifest_local_limited_to_component(tmp_path: Path) -> None:
    _, _, output = manifest_output(tmp_path)
    locals_ = [
        entry.op.source
        for entry in ops_of(output.state)
        if entry.op.source.identifier.startswith("local://")
    ]
    assert len(locals_) == 1
    attrs = locals_[0].attrs
    assert locals_[0].identifier == "local://context"
    assert attrs["local.includepattern"] == '["extensions/Popups"]'
    assert attrs["local.excludepatterns"] == (
        '["extensions/Popups/.git","extensions/Popups/**/node_modules"]'
    )


def test_manifest_context_rerooted(tmp_path: Path) -> None:
    component, settings, _ = manifest_output(tmp_path)
    context = manifest_context(component, settings)
    head = ops_of(context)[-1]
    action = head.op.file.actions[0]
    assert action.input == -1
    assert action.copy.src == "/extensions/Popups"
    assert action.copy.dest == "/"
    assert action.copy.dirCopyContents
    assert head.metadata.description["llb.customname"] == "[extensions/Popups] context"


def test_manifest_copies_read_rerooted_context(tmp_path: Path) -> None:
    component, settings, output = manifest_output(tmp_path)
    context = llb.marshal(manifest_context(component, settings), platform=AMD64)
    entry = next(
        entry
        for entry in ops_of(output.state)
        if entry.op.HasField("file")
        and entry.op.file.actions[0].copy.src == "/package.json"
    )
    secondary = entry.op.file.actions[0].secondaryInput
    assert entry.op.inputs[secondary].digest == context.head


def test_manifest_vertex_names(tmp_path: Path) -> None:
    _, _, output = manifest_output(tmp_path)
    shown = names(output.state)
    assert "[extensions/Popups] prep: @65533 $ npm install" in shown
    entries = ops_of(output.state)
    components = {e.metadata.description["flense.component"] for e in entries}
    assert components == {"extensions/Popups"}


def canonical_ops(state: llb.State, context: llb.State) -> list[str]:
    """Name each op after the context by its bytes with inputs made canonical.

    The context and everything before it is replaced by the word "context",
    and each other input by the canonical name of its op, so two graphs get
    the same list exactly when every op after the context has the same
    definition (BuildKit's cache key input) in both.
    """
    context_digest = llb.marshal(context, platform=AMD64).head
    canonical: dict[str, str] = {}
    result = []
    for entry in ops_of(state):
        if entry.digest == context_digest or entry.digest in _ancestors(
            context, context_digest
        ):
            canonical[entry.digest] = "context"
            continue
        op = ops_pb2.Op()
        op.CopyFrom(entry.op)
        for edge in op.inputs:
            edge.digest = canonical[edge.digest]
        name = hashlib.sha256(op.SerializeToString(deterministic=True)).hexdigest()
        canonical[entry.digest] = name
        result.append(name)
    return result


def _ancestors(context: llb.State, head: str) -> set[str]:
    return {entry.digest for entry in ops_of(context)} - {head}


def test_manifest_steps_match_standalone(tmp_path: Path) -> None:
    component, settings, output = manifest_output(tmp_path)
    standalone = standalone_graph(
        tmp_path / "extensions/Popups/.pipeline/blubber.yaml",
        "distribution",
        resolver=TABLE,
        platform=AMD64,
    )
    alone = canonical_ops(standalone.state, standalone_context())
    in_manifest = canonical_ops(output.state, manifest_context(component, settings))
    assert len(alone) == 10
    assert alone == in_manifest


def test_manifest_steps_before_context_identical(tmp_path: Path) -> None:
    _, _, output = manifest_output(tmp_path)
    standalone = standalone_graph(
        tmp_path / "extensions/Popups/.pipeline/blubber.yaml",
        "distribution",
        resolver=TABLE,
        platform=AMD64,
    )
    alone = {entry.digest for entry in ops_of(standalone.state)}
    in_manifest = {entry.digest for entry in ops_of(output.state)}
    # The base image and the two user-creation execs do not read the context.
    assert len(alone & in_manifest) == 3


def test_compile_variant_definition_and_config(tmp_path: Path) -> None:
    component = popups_context(tmp_path)
    definition, config = compile_variant(
        component / ".pipeline/blubber.yaml",
        "distribution",
        component,
        resolver=TABLE,
        platform=AMD64,
    )
    sources = [
        entry.op.source.identifier
        for entry in definition.ops
        if entry.op.HasField("source")
    ]
    assert "local://context" in sources
    assert config["os"] == "linux"
