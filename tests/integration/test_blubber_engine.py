"""Blubber variants built on the real engine (dockerd's BuildKit).

Base images are the locally made ones (scripts/base-images.sh). Blubber's
user-creation commands need ``getent``, ``groupadd`` and ``useradd``, which
busybox lacks, so a module fixture derives ``flense-test/busybox-users``
from ``flense-test/busybox`` with small shell versions of the three, built
with flense's own LLB and exported with the image config as
``containerimage.config``.

The conformance fixtures that can build here are built from ``flense
blubber`` output, with their base images tagged from the node image. The
others cannot build here. case03 and case13 install APT packages, but the
images have no package lists and the suite does not reach a Debian mirror.
case06 and case07 need a Python base image, case08 PHP and Composer, and
case09 and case15 a Go toolchain. case11 runs ``make``, which no local
image has.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flense import llb
from flense.blubber.baseimage import DockerImageResolver
from flense.build import BuildRequest, run_build
from flense.builders import local_unique
from flense.builders.blubber import compile_variant, standalone_graph
from flense.compose import compose
from flense.engine.client import Client, Output
from flense.engine.progress import Progress, VertexRecord
from flense.manifest import load_manifest

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "blubber"
BUSYBOX = "flense-test/busybox:latest"
NODE = "flense-test/node:latest"
USERS_IMAGE = "flense-test/busybox-users:latest"
DOCKER = "docker"

# Minimal getent, groupadd and useradd for the options Blubber's commands
# use (getent passwd|group KEY; groupadd -o -g GID -r NAME; useradd -l -o -m
# -d HOME -r -g GID -u UID NAME).
GETENT = """\
#!/bin/sh
file=/etc/$1
[ -f "$file" ] || exit 1
awk -F: -v key="$2" '$1 == key || $3 == key { print; found = 1; exit }
    END { exit found ? 0 : 2 }' "$file"
"""
GROUPADD = """\
#!/bin/sh
gid=
while [ $# -gt 1 ]; do
    case $1 in -g) gid=$2; shift 2 ;; *) shift ;; esac
done
echo "$1:x:$gid:" >> /etc/group
"""
USERADD = """\
#!/bin/sh
home= gid= uid= create=
while [ $# -gt 1 ]; do
    case $1 in
        -d) home=$2; shift 2 ;;
        -g) gid=$2; shift 2 ;;
        -u) uid=$2; shift 2 ;;
        -m) create=1; shift ;;
        *) shift ;;
    esac
done
echo "$1:x:$uid:$gid::$home:/bin/sh" >> /etc/passwd
if [ -n "$create" ]; then mkdir -p "$home" && chown "$uid:$gid" "$home"; fi
"""

VARIANTS = """\
version: v4
runs:
  environment:
    GREETING: hello
variants:
  build:
    base: flense-test/busybox-users:latest
    builder:
      script: |
        id -u > build-uid.txt
        pwd > build-cwd.txt
        echo "$GREETING $LIVES_AS $TARGETOS" > build-env.txt
        echo written > /var/cache/app/probe && ls /var/cache/app > cache.txt
      requirements: [data/]
      caches: [/var/cache/app]
  hello:
    includes: [build]
    copies: [local]
    entrypoint: [./run.sh]
  dist:
    copies:
      - from: build
        source: /srv/app
        destination: /dist
"""

RUN_SH = """\
#!/bin/sh
echo "user=$(id -u) cwd=$(pwd) greeting=$GREETING home=$HOME"
"""


def docker(*args: str) -> str:
    completed = subprocess.run(
        [DOCKER, *args], check=True, capture_output=True, text=True
    )
    return completed.stdout


def image_exists(tag: str) -> bool:
    completed = subprocess.run(
        [DOCKER, "image", "inspect", tag], capture_output=True, text=True
    )
    return completed.returncode == 0


def solve(
    client: Client,
    definition: llb.Definition,
    context: Path,
    outputs: list[Output],
) -> list[VertexRecord]:
    progress = Progress("quiet", stream=io.StringIO())
    client.solve(
        definition.proto,
        local_dirs={"context": context},
        outputs=outputs,
        on_status=progress.update,
    )
    progress.finish(result="")
    return progress.vertices()


# --- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    for tag in (BUSYBOX, NODE):
        if not image_exists(tag):
            pytest.fail(f"{tag} is missing: run scripts/base-images.sh")
    with Client.connect() as connected:
        yield connected


@pytest.fixture(scope="module")
def users_image(client: Client) -> str:
    """Make flense-test/busybox-users from busybox plus the user tools."""
    actions = llb.mkdir("/usr/local/bin", 0o755, parents=True)
    for name, script in (
        ("getent", GETENT),
        ("groupadd", GROUPADD),
        ("useradd", USERADD),
    ):
        actions = actions.mkfile(f"/usr/local/bin/{name}", 0o755, script)
    state = llb.image(BUSYBOX).file(actions, name="add user tools")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
    }
    output = Output(
        "moby",
        {"name": USERS_IMAGE, "containerimage.config": json.dumps(config)},
    )
    definition = llb.marshal(state, platform=llb.Platform("linux", "amd64"))
    client.solve(definition.proto, local_dirs={}, outputs=[output])
    return USERS_IMAGE


@pytest.fixture(scope="module")
def variants_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("variants")
    (directory / "blubber.yaml").write_text(VARIANTS)
    (directory / "data").mkdir()
    (directory / "data" / "input.txt").write_text("input\n")
    run = directory / "run.sh"
    run.write_text(RUN_SH)
    run.chmod(0o755)
    return directory


@pytest.fixture(scope="module")
def hello_image(users_image: str, variants_dir: Path) -> Iterator[str]:
    """Build the hello variant with `flense build --variant` into the engine."""
    tag = f"flense-test/blubber-hello:{uuid.uuid4().hex[:12]}"
    definition, config = compile_variant(
        variants_dir / "blubber.yaml", "hello", variants_dir
    )
    run_build(
        BuildRequest(
            definition=definition,
            context=variants_dir,
            tags=(tag,),
            progress="quiet",
            image_config=config,
        )
    )
    yield tag
    subprocess.run([DOCKER, "rmi", tag], capture_output=True)


@pytest.fixture(scope="module")
def hello_inspect(hello_image: str) -> dict[str, object]:
    return json.loads(docker("image", "inspect", hello_image))[0]


def image_stat(tag: str, path: str) -> str:
    return docker(
        "run", "--rm", "--entrypoint", "stat", tag, "-c", "%u:%g %a", path
    ).strip()


# --- busybox variants ---------------------------------------------------------


def test_hello_entrypoint_runs(hello_image: str) -> None:
    output = docker("run", "--rm", hello_image).strip()
    assert output == "user=900 cwd=/srv/app greeting=hello home=/home/runuser"


def test_hello_config_user(hello_inspect: dict[str, object]) -> None:
    config = hello_inspect["Config"]
    assert isinstance(config, dict)
    assert config["User"] == "900"
    assert config["WorkingDir"] == "/srv/app"
    assert config["Entrypoint"] == ["./run.sh"]
    assert config["Cmd"] is None


def test_hello_config_env(hello_inspect: dict[str, object]) -> None:
    config = hello_inspect["Config"]
    assert isinstance(config, dict)
    assert config["Env"] == [
        "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/home/runuser",
        "GREETING=hello",
    ]
    assert config["Labels"]["blubber.variant"] == "hello"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/srv/app/run.sh", "65533:65533 755"),
        ("/srv/app/data/input.txt", "65533:65533 644"),
        ("/srv/app/build-uid.txt", "65533:65533 644"),
        ("/srv/app", "65533:65533 755"),
    ],
)
def test_hello_owners_modes(hello_image: str, path: str, expected: str) -> None:
    assert image_stat(hello_image, path) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("build-uid.txt", "65533"),
        ("build-cwd.txt", "/srv/app"),
        ("build-env.txt", "hello somebody linux"),
        ("cache.txt", "probe"),
    ],
)
def test_hello_build_step_files(hello_image: str, name: str, expected: str) -> None:
    text = docker("run", "--rm", "--entrypoint", "cat", hello_image, name)
    assert text.strip() == expected


def test_scratch_variant_local_export(
    client: Client, users_image: str, variants_dir: Path, tmp_path: Path
) -> None:
    definition, config = compile_variant(
        variants_dir / "blubber.yaml", "dist", variants_dir
    )
    solve(client, definition, variants_dir, [Output("local", {}, str(tmp_path))])
    assert (tmp_path / "dist" / "build-uid.txt").read_text() == "65533\n"
    assert (tmp_path / "dist" / "data" / "input.txt").read_text() == "input\n"
    assert not (tmp_path / "bin").exists()
    assert config["config"]["WorkingDir"] == "/"


# --- conformance fixtures through `flense blubber` ----------------------------

PACKAGE_JSON = {
    "name": "conformance",
    "version": "1.0.0",
    "private": True,
    "scripts": {"build": "node webpack.config.js"},
    "dependencies": {"is-number": "^7.0.0"},
}
PACKAGE_LOCK = {
    "name": "conformance",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {
            "name": "conformance",
            "version": "1.0.0",
            "dependencies": {"is-number": "^7.0.0"},
        },
        "node_modules/is-number": {
            "version": "7.0.0",
            "resolved": "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz",
            "integrity": (
                "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL4"
                "3QKPDlK9cGvNp6NZWZUBlbGXYxxng=="
            ),
            "license": "MIT",
            "engines": {"node": ">=0.12.0"},
        },
    },
}
# Stands in for webpack in case 10's `npm run-script build`.
FAKE_WEBPACK = """\
const fs = require('fs');
const isNumber = require('is-number');
fs.mkdirSync('resources/dist', { recursive: true });
fs.writeFileSync('resources/dist/index.js', `// built: ${isNumber(1)}\\n`);
"""

# Base images the fixtures name, tagged from a local image when missing.
FIXTURE_BASES = {
    "debian:bookworm": NODE,
    "docker-registry.wikimedia.org/nodejs20-slim:latest": NODE,
    "docker-registry.wikimedia.org/nodejs10-devel:latest": NODE,
}

# fixture, variant, a file the result must contain (relative to its root)
BUILDABLE = [
    ("case01-bare.yaml", "dev", "home/runuser"),
    ("case02-local-copy.yaml", "hello", "srv/app/run.sh"),
    ("case04-node-production.yaml", "prod", "srv/app/node_modules/is-number"),
    ("case05-npm-ci.yaml", "prod", "srv/app/node_modules/is-number"),
    ("case10-popups.yaml", "distribution", "dist/resources/dist/index.js"),
    ("case12-insecurely.yaml", "test", "srv/app/Makefile"),
    ("case14-copies-chain.yaml", "three", "srv/app/run.sh"),
]


@pytest.fixture(scope="module")
def fixture_bases(client: Client) -> None:
    for tag, source in FIXTURE_BASES.items():
        if not image_exists(tag):
            docker("tag", source, tag)


@pytest.fixture(scope="module")
def fixture_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    context = tmp_path_factory.mktemp("conformance")
    (context / "package.json").write_text(json.dumps(PACKAGE_JSON, indent=2))
    (context / "package-lock.json").write_text(json.dumps(PACKAGE_LOCK, indent=2))
    (context / "server.js").write_text("console.log('server');\n")
    (context / "webpack.config.js").write_text(FAKE_WEBPACK)
    (context / "Makefile").write_text("test:\n\ttrue\n")
    (context / "src").mkdir()
    (context / "src" / "index.js").write_text("export const x = 1;\n")
    (context / "resources").mkdir()
    (context / "resources" / "style.css").write_text("a {}\n")
    run = context / "run.sh"
    run.write_text(RUN_SH)
    run.chmod(0o755)
    return context


def flense_blubber(config: Path, variant: str, context: Path) -> bytes:
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "flense"),
            "blubber",
            str(config),
            variant,
            "--context",
            str(context),
        ],
        check=True,
        capture_output=True,
    )
    return completed.stdout


@pytest.mark.parametrize(("name", "variant", "expected"), BUILDABLE)
def test_fixture_builds(
    client: Client,
    fixture_bases: None,
    fixture_context: Path,
    tmp_path: Path,
    name: str,
    variant: str,
    expected: str,
) -> None:
    data = flense_blubber(FIXTURES / name, variant, fixture_context)
    assert data
    solve(client, llb.Definition.from_bytes(data), fixture_context, [])

    # The same graph built in Python marshals to the same bytes, so the
    # copy below reuses the build above from the cache. Only the checked
    # path is exported, not the whole base image.
    graph = standalone_graph(
        FIXTURES / name, variant, unique=local_unique(fixture_context)
    )
    assert llb.marshal(graph.state).to_bytes() == data
    extract = llb.scratch().file(
        llb.copy(graph.state, f"/{expected}", "/out/", create_dest_path=True)
    )
    output = Output("local", {}, str(tmp_path))
    solve(client, llb.marshal(extract), fixture_context, [output])
    assert (tmp_path / "out" / Path(expected).name).exists()


# --- the example: cached steps alone and in the manifest ----------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("example") / "mediawiki"
    completed = subprocess.run(
        ["bash", str(REPO / "scripts" / "prepare-example.sh"), str(destination)],
        check=True,
        capture_output=True,
        text=True,
    )
    root = Path(completed.stdout.strip())
    # A change no earlier run has seen, so the standalone build really runs
    # the build steps and the manifest build can only find them cached.
    index = root / "extensions" / "Popups" / "src" / "index.js"
    index.write_text(index.read_text() + f"// run {uuid.uuid4().hex}\n")
    return root


POPUPS_PREFIX = "[extensions/Popups] "


def popups_steps(records: list[VertexRecord]) -> dict[str, VertexRecord]:
    """The Popups variant's steps after the context, by name without prefix."""
    steps = {}
    for record in records:
        if not record.name.startswith(POPUPS_PREFIX):
            continue
        step = record.name[len(POPUPS_PREFIX) :]
        if step.startswith(("prep: ", "distribution: ")) and ": from " not in step:
            steps[step] = record
    return steps


def test_example_steps_cached_in_manifest(client: Client, example: Path) -> None:
    popups = example / "extensions" / "Popups"
    definition, _ = compile_variant(
        popups / ".pipeline" / "blubber.yaml",
        "distribution",
        popups,
        resolver=DockerImageResolver(),
    )
    alone = solve(client, definition, popups, [])
    built = [r.name for r in alone if r.name.endswith('npm "run-script" "build"')]
    assert len(built) == 1
    assert not next(r for r in alone if r.name == built[0]).cached

    manifest = load_manifest(example / ".pipeline" / "manifest.yaml", example)
    state = compose(manifest, max_layers=100)
    records = solve(client, llb.marshal(state), example, [])
    steps = popups_steps(records)
    assert len(steps) == 11
    not_cached = sorted(name for name, record in steps.items() if not record.cached)
    assert not_cached == []


def test_example_popups_files(client: Client, example: Path, tmp_path: Path) -> None:
    manifest = load_manifest(example / ".pipeline" / "manifest.yaml", example)
    state = compose(manifest, max_layers=100)
    solve(client, llb.marshal(state), example, [Output("local", {}, str(tmp_path))])
    popups = tmp_path / "srv" / "mediawiki" / "extensions" / "Popups"
    bundle = (popups / "resources" / "dist" / "index.js").read_text()
    assert "function createPreviewController" in bundle
    assert (popups / "extension.json").is_file()
    assert not (popups / "node_modules").exists()
    assert not (popups / "docs").exists()


# A Blubber component reuses the cache of its standalone build, including
# copies of the whole context.

CACHE_CONFIG = """\
version: v4
variants:
  app:
    base: {base}
    builder:
      command: [sh, -c, "cat lib/a.txt > built.txt"]
      requirements: [lib/]
    copies: [local]
"""

CACHE_MANIFEST = """\
destination:
  root: /srv/mw
components:
  - source: ext/G
    builder: blubber
    variant: app
"""


@pytest.fixture
def cache_superproject(tmp_path: Path, users_image: str) -> Path:
    component = tmp_path / "ext" / "G"
    (component / "lib").mkdir(parents=True)
    (component / ".pipeline").mkdir()
    # Content no earlier build has seen, so the first build really runs.
    (component / "lib" / "a.txt").write_text(f"{uuid.uuid4()}\n")
    (component / "main.txt").write_text(f"{uuid.uuid4()}\n")
    (component / ".pipeline" / "blubber.yaml").write_text(
        CACHE_CONFIG.format(base=users_image)
    )
    (tmp_path / ".pipeline").mkdir()
    (tmp_path / ".pipeline" / "manifest.yaml").write_text(CACHE_MANIFEST)
    return tmp_path


def run_quietly(definition: llb.Definition, context: Path):
    return run_build(
        BuildRequest(definition=definition, context=context, progress="quiet")
    )


def test_local_copies_cached_after_standalone(cache_superproject):
    superproject = cache_superproject
    component = superproject / "ext" / "G"
    standalone, _config = compile_variant(
        component / ".pipeline" / "blubber.yaml", "app", component
    )
    first = run_quietly(standalone, component)
    manifest = load_manifest(superproject / ".pipeline" / "manifest.yaml", superproject)
    second = run_quietly(llb.marshal(compose(manifest, max_layers=10)), superproject)

    ran_first = {v.name for v in first.vertices if not v.cached}
    steps = {
        v.name.removeprefix("[ext/G] app: "): v.cached
        for v in second.vertices
        if v.name.startswith("[ext/G] app: ") and ": from " not in v.name
    }
    assert "[app] copy context:[/] -> /srv/app" in ran_first
    assert steps['@65533 $ sh "-c" "cat lib/a.txt > built.txt"'] is True
    assert steps["copy context:[/lib] -> /srv/app/lib/"] is True
    assert steps["copy context:[/] -> /srv/app"] is True
    assert all(steps.values())


# The context's .dockerignore keeps files out of the transfer, alone and in a
# manifest, without changing the cache keys of the steps that read it.

IGNORED_CONFIG = """\
version: v4
variants:
  dist:
    lives:
      in: /dist
    copies: [{from: local, source: ., destination: /dist}]
"""

IGNORED_MANIFEST = """\
destination:
  root: /srv/mw
components:
  - source: ext/G
    builder: blubber
    variant: dist
"""


@pytest.fixture
def ignoring_superproject(tmp_path: Path) -> Path:
    component = tmp_path / "ext" / "G"
    (component / "secret").mkdir(parents=True)
    (component / "node_modules" / "dep").mkdir(parents=True)
    (component / ".pipeline").mkdir()
    (component / "secret" / "key").write_text("do not send\n")
    (component / "node_modules" / "dep" / "index.js").write_text("dep\n")
    # Content no earlier build has seen, so the first build really runs.
    (component / "main.txt").write_text(f"{uuid.uuid4()}\n")
    (component / ".dockerignore").write_text("node_modules\nsecret\n")
    (component / ".pipeline" / "blubber.yaml").write_text(IGNORED_CONFIG)
    (tmp_path / ".pipeline").mkdir()
    (tmp_path / ".pipeline" / "manifest.yaml").write_text(IGNORED_MANIFEST)
    return tmp_path


def test_dockerignore_alone_and_in_manifest(
    client: Client,
    ignoring_superproject: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    superproject = ignoring_superproject
    component = superproject / "ext" / "G"
    alone_out = tmp_path_factory.mktemp("alone")
    definition, _ = compile_variant(
        component / ".pipeline" / "blubber.yaml", "dist", component
    )
    alone = solve(client, definition, component, [Output("local", {}, str(alone_out))])
    assert (alone_out / "dist" / "main.txt").is_file()
    assert not (alone_out / "dist" / "secret").exists()
    assert not (alone_out / "dist" / "node_modules").exists()
    assert "[context] transfer" in {record.name for record in alone}

    manifest_out = tmp_path_factory.mktemp("manifest")
    manifest = load_manifest(superproject / ".pipeline" / "manifest.yaml", superproject)
    records = solve(
        client,
        llb.marshal(compose(manifest, max_layers=10)),
        superproject,
        [Output("local", {}, str(manifest_out))],
    )
    files = manifest_out / "srv" / "mw" / "ext" / "G"
    assert (files / "main.txt").is_file()
    assert not (files / "secret").exists()
    assert not (files / "node_modules").exists()
    copy = next(
        r for r in records if r.name == "[ext/G] dist: copy context:[/] -> /dist"
    )
    assert copy.cached
