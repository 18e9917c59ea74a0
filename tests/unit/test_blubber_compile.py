"""Conformance cases: Blubber 1.8 configs compiled to stages of instructions.

Each fixture under tests/fixtures/blubber is one case. Instructions are
compared in a compact text form (see ``summarize``), so a failure shows the
whole list. Run text is compared before ``$`` expansion. The user-creation
chains are also compared after it, through ``image.replay``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flense.blubber import compile_file
from flense.blubber.image import ImageConfig, replay
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
    Instruction,
    Label,
    MakeFile,
    Owner,
    Run,
    RunScript,
    Stage,
    StageSource,
    User,
    WorkingDirectory,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blubber"

LIVES = "$LIVES_UID:$LIVES_GID"


def summarize(instruction: Instruction) -> str:
    """Render one instruction as a single comparable line."""
    match instruction:
        case User(user=user):
            return f"user {user}"
        case Env(variables=variables):
            return "env " + " ".join(f"{name}={value}" for name, value in variables)
        case BuildArgument(name=name, default=default):
            return f"arg {name}={default}"
        case WorkingDirectory(path=path):
            return f"workdir {path}"
        case Run(command=command, mounts=()):
            return f"run {command}"
        case Run(command=command, mounts=mounts):
            return f"run {command} mounts={list(mounts)}"
        case RunScript():
            return f"script {instruction.digest}"
        case CopyLocal(sources=sources, destination=destination, owner=owner):
            return f"copy local {list(sources)} -> {destination}{_owner(owner)}"
        case CopyFrom(
            origin=origin, sources=sources, destination=destination, owner=owner
        ):
            name = origin.name if isinstance(origin, StageSource) else origin.reference
            return f"copy {name} {list(sources)} -> {destination}{_owner(owner)}"
        case MakeFile(path=path, mode=mode):
            return f"file {path} {mode:o}"
        case Entrypoint(command=command):
            return f"entrypoint {list(command)}"
        case Label(labels=labels):
            return "label " + " ".join(f"{name}={value}" for name, value in labels)
    raise AssertionError(instruction)


def _owner(owner: Owner | None) -> str:
    return "" if owner is None else f" owner {owner.uid}:{owner.gid}"


def lives_chain(directory: str) -> str:
    return (
        'run (getent group "$LIVES_GID" || groupadd -o -g "$LIVES_GID" -r "$LIVES_AS")'
        ' && (getent passwd "$LIVES_UID" || useradd -l -o -m -d "/home/$LIVES_AS"'
        ' -r -g "$LIVES_GID" -u "$LIVES_UID" "$LIVES_AS")'
        f' && mkdir -p "{directory}" && chown "$LIVES_UID":"$LIVES_GID" "{directory}"'
        ' && mkdir -p "/opt/lib" && chown "$LIVES_UID":"$LIVES_GID" "/opt/lib"'
    )


RUNS_CHAIN = (
    'run (getent group "$RUNS_GID" || groupadd -o -g "$RUNS_GID" -r "$RUNS_AS")'
    ' && (getent passwd "$RUNS_UID" || useradd -l -o -m -d "/home/$RUNS_AS"'
    ' -r -g "$RUNS_GID" -u "$RUNS_UID" "$RUNS_AS")'
)


def privileged(*extra: str, directory: str = "/srv/app") -> list[str]:
    return [
        "user 0",
        "env HOME=/root",
        *extra,
        "arg LIVES_AS=somebody",
        "arg LIVES_UID=65533",
        "arg LIVES_GID=65533",
        lives_chain(directory),
        "arg RUNS_AS=runuser",
        "arg RUNS_UID=900",
        "arg RUNS_GID=900",
        RUNS_CHAIN,
    ]


def dropped(directory: str = "/srv/app") -> list[str]:
    return ["user $LIVES_UID", "env HOME=/home/somebody", f"workdir {directory}"]


POST = ["user $RUNS_UID", "env HOME=/home/$RUNS_AS"]


def label(name: str) -> str:
    return f"label blubber.variant={name} blubber.version=1.8.0+flense"


def compile_case(fixture: str, variant: str) -> tuple[Stage, ...]:
    return compile_file(FIXTURES / fixture, variant)


def lines(stage: Stage) -> list[str]:
    return [summarize(instruction) for instruction in stage.instructions]


CASES = [
    pytest.param(
        "case01-bare.yaml",
        "dev",
        {"dev": [*privileged(), *dropped(), *POST, label("dev")]},
        id="01-bare",
    ),
    pytest.param(
        "case02-local-copy.yaml",
        "hello",
        {
            "hello": [
                *privileged(),
                *dropped(),
                f"copy local ['/'] -> /srv/app owner {LIVES}",
                *POST,
                "entrypoint ['./run.sh']",
                label("hello"),
            ]
        },
        id="02-local-copy",
    ),
    pytest.param(
        "case03-apt-merge.yaml",
        "build",
        {
            "build": [
                *privileged(
                    "env DEBIAN_FRONTEND=noninteractive",
                    'run apt-get update && apt-get install -y "curl" "gcc" "libc6-dev"'
                    " && rm -rf /var/lib/apt/lists/*",
                ),
                *dropped(),
                *POST,
                label("build"),
            ]
        },
        id="03-apt-merge",
    ),
    pytest.param(
        "case03-apt-merge.yaml",
        "backports",
        {
            "backports": [
                *privileged(
                    "env DEBIAN_FRONTEND=noninteractive",
                    'run apt-get update && apt-get install -y -t "bookworm-backports"'
                    ' "npm" && apt-get install -y "curl" "gcc" "libc6-dev"'
                    " && rm -rf /var/lib/apt/lists/*",
                ),
                *dropped(),
                *POST,
                label("backports"),
            ]
        },
        id="03-apt-release-map",
    ),
    pytest.param(
        "case04-node-production.yaml",
        "prod",
        {
            "prod": [
                *privileged(),
                *dropped(),
                "copy local ['/package.json', '/package-lock.json'] -> /srv/app/"
                f" owner {LIVES}",
                'run npm install "--only=production"',
                "run npm dedupe",
                f"copy local ['/'] -> /srv/app owner {LIVES}",
                *POST,
                "env NODE_ENV=production",
                "entrypoint ['node', 'server.js']",
                label("prod"),
            ]
        },
        id="04-node-production",
    ),
    pytest.param(
        "case05-npm-ci.yaml",
        "prod",
        {
            "prod": [
                *privileged(),
                *dropped(),
                "copy local ['/package.json', '/package-lock.json'] -> /srv/app/"
                f" owner {LIVES}",
                "run npm ci",
                f"copy local ['/'] -> /srv/app owner {LIVES}",
                *POST,
                "env NODE_ENV=",
                "entrypoint ['node', 'server.js']",
                label("prod"),
            ]
        },
        id="05-npm-ci",
    ),
    pytest.param(
        "case06-python.yaml",
        "test",
        {
            "test": [
                *privileged(),
                *dropped(),
                f"copy local ['/requirements.txt'] -> /srv/app/ owner {LIVES}",
                "copy local ['/docs/requirements.txt'] -> /srv/app/docs/"
                f" owner {LIVES}",
                'run python3 "-m" "venv" "/opt/lib/venv"',
                "env PATH=/opt/lib/venv/bin:$PATH VIRTUAL_ENV=/opt/lib/venv",
                'run python3 "-m" "pip" "install" "-U" "setuptools!=60.9.0"'
                ' && python3 "-m" "pip" "install" "-U" "wheel" "tox" "pip"',
                'run python3 "-m" "pip" "install" "-r" "requirements.txt"'
                ' "-r" "docs/requirements.txt"',
                f"copy local ['/'] -> /srv/app owner {LIVES}",
                *POST,
                label("test"),
            ]
        },
        id="06-python",
    ),
    pytest.param(
        "case07-poetry.yaml",
        "test",
        {
            "test": [
                *privileged(),
                *dropped(),
                "copy local ['/pyproject.toml', '/poetry.lock'] -> /srv/app/"
                f" owner {LIVES}",
                'run python3 "-m" "venv" "/opt/lib/venv"',
                "env PATH=/opt/lib/venv/bin:$PATH VIRTUAL_ENV=/opt/lib/venv",
                'run python3 "-m" "pip" "install" "-U" "setuptools!=60.9.0"'
                ' && python3 "-m" "pip" "install" "-U" "wheel" "tox" "pip"',
                "env POETRY_VIRTUALENVS_PATH=/opt/lib/poetry",
                'run python3 "-m" "pip" "install" "-U" "poetry==1.0.10"',
                'run mkdir -p "/opt/lib/poetry"',
                'run poetry "install" "--no-root" "--no-dev"',
                *POST,
                label("test"),
            ]
        },
        id="07-poetry",
    ),
    pytest.param(
        "case08-php.yaml",
        "prod",
        {
            "prod": [
                *privileged(),
                *dropped(),
                "copy local ['/composer.json', '/composer.lock'] -> /srv/app/"
                f" owner {LIVES}",
                'run composer install "--no-scripts" "--no-dev"',
                *POST,
                label("prod"),
            ]
        },
        id="08-php",
    ),
    pytest.param(
        "case09-builder.yaml",
        "build",
        {
            "build": [
                *privileged(),
                *dropped(),
                f"copy local ['/Makefile', '/go.mod'] -> /srv/app/ owner {LIVES}",
                f"copy local ['/cmd/main.go'] -> /srv/app/cmd/ owner {LIVES}",
                f"copy local ['/internal'] -> /srv/app/internal/ owner {LIVES}",
                'run make "-C" "cmd" "all"',
                *POST,
                label("build"),
            ]
        },
        id="09-builder",
    ),
    pytest.param(
        "case10-popups.yaml",
        "distribution",
        {
            "prep": [
                *privileged(directory="/srv/mediawiki"),
                *dropped("/srv/mediawiki"),
                "copy local ['/package.json', '/package-lock.json'] -> /srv/mediawiki/"
                f" owner {LIVES}",
                "run npm install",
                f"copy local ['/src'] -> /srv/mediawiki/src/ owner {LIVES}",
                f"copy local ['/resources'] -> /srv/mediawiki/resources/ owner {LIVES}",
                f"copy local ['/webpack.config.js'] -> /srv/mediawiki/ owner {LIVES}",
                'run npm "run-script" "build"',
                *POST,
                "env NODE_ENV=",
                label("prep"),
            ],
            "distribution": [
                "copy prep ['/srv/mediawiki'] -> /dist",
                label("distribution"),
            ],
        },
        id="10-popups",
    ),
    pytest.param(
        "case11-shorthand-copies.yaml",
        "production",
        {
            "build": [
                *privileged(),
                *dropped(),
                f"copy local ['/'] -> /srv/app owner {LIVES}",
                'run make "dist"',
                *POST,
                label("build"),
            ],
            "production": [
                *privileged(),
                *dropped(),
                f"copy build ['/srv/app'] -> /srv/app owner {LIVES}",
                f"copy build ['/opt/lib'] -> /opt/lib owner {LIVES}",
                *POST,
                "entrypoint ['./app']",
                label("production"),
            ],
        },
        id="11-shorthand-copies",
    ),
    pytest.param(
        "case12-insecurely.yaml",
        "test",
        {
            "test": [
                *privileged(),
                *dropped(),
                f"copy local ['/'] -> /srv/app owner {LIVES}",
                "entrypoint ['make', 'test']",
                label("test"),
            ]
        },
        id="12-insecurely",
    ),
    pytest.param(
        "case13-includes.yaml",
        "check",
        {
            "check": [
                *privileged(
                    "env DEBIAN_FRONTEND=noninteractive",
                    'run apt-get update && apt-get install -y "git" "make" "curl"'
                    " && rm -rf /var/lib/apt/lists/*",
                ),
                *dropped(),
                "env A1=top SHARED=common",
                *POST,
                "entrypoint ['make', 'test']",
                label("check"),
            ]
        },
        id="13-includes",
    ),
    pytest.param(
        "case14-copies-chain.yaml",
        "three",
        {
            "one": [
                *privileged(),
                *dropped(),
                f"copy local ['/'] -> /srv/app owner {LIVES}",
                *POST,
                label("one"),
            ],
            "two": [
                *privileged(),
                *dropped(),
                f"copy one ['/srv/app'] -> /srv/app owner {LIVES}",
                f"copy one ['/opt/lib'] -> /opt/lib owner {LIVES}",
                *POST,
                label("two"),
            ],
            "three": [
                *privileged(),
                *dropped(),
                f"copy two ['/srv/app'] -> /srv/app owner {LIVES}",
                f"copy two ['/opt/lib'] -> /opt/lib owner {LIVES}",
                *POST,
                label("three"),
            ],
        },
        id="14-copies-chain",
    ),
]


@pytest.mark.parametrize(("fixture", "variant", "expected"), CASES)
def test_case_stage_order(
    fixture: str, variant: str, expected: dict[str, list[str]]
) -> None:
    stages = compile_case(fixture, variant)
    assert [stage.name for stage in stages] == list(expected)


@pytest.mark.parametrize(("fixture", "variant", "expected"), CASES)
def test_case_instructions(
    fixture: str, variant: str, expected: dict[str, list[str]]
) -> None:
    stages = compile_case(fixture, variant)
    for stage in stages:
        assert lines(stage) == expected[stage.name], stage.name


def test_user_chains_expanded() -> None:
    stage = compile_case("case01-bare.yaml", "dev")[0]
    result = replay(stage, ImageConfig())
    commands = [step.args[2] for step in result.steps if hasattr(step, "args")]
    assert commands == [
        '(getent group "65533" || groupadd -o -g "65533" -r "somebody") && '
        '(getent passwd "65533" || useradd -l -o -m -d "/home/somebody" -r -g "65533" '
        '-u "65533" "somebody") && mkdir -p "/srv/app" && chown "65533":"65533" '
        '"/srv/app" && mkdir -p "/opt/lib" && chown "65533":"65533" "/opt/lib"',
        '(getent group "900" || groupadd -o -g "900" -r "runuser") && '
        '(getent passwd "900" || useradd -l -o -m -d "/home/runuser" -r -g "900" '
        '-u "900" "runuser")',
    ]


def test_user_chains_run_as_root() -> None:
    stage = compile_case("case01-bare.yaml", "dev")[0]
    result = replay(stage, ImageConfig())
    users = [step.user for step in result.steps if hasattr(step, "args")]
    assert users == ["0", "0"]


def test_bare_image_config() -> None:
    stage = compile_case("case01-bare.yaml", "dev")[0]
    config = replay(stage, ImageConfig(env=("PATH=/usr/bin:/bin",))).config
    assert config.user == "900"
    assert config.working_dir == "/srv/app"
    assert config.env == ("PATH=/usr/bin:/bin", "HOME=/home/runuser")
    assert config.entrypoint is None


def test_build_argument_overrides_uid() -> None:
    stage = compile_case("case01-bare.yaml", "dev")[0]
    config = replay(stage, ImageConfig(), {"RUNS_UID": "1000"}).config
    assert config.user == "1000"


def test_entrypoint_clears_cmd() -> None:
    stage = compile_case("case02-local-copy.yaml", "hello")[0]
    base = ImageConfig(cmd=("bash",), working_dir="/")
    config = replay(stage, base).config
    assert config.entrypoint == ("./run.sh",)
    assert config.cmd is None


def test_local_copy_owner_expanded() -> None:
    stage = compile_case("case02-local-copy.yaml", "hello")[0]
    result = replay(stage, ImageConfig())
    owners = [step.owner for step in result.steps if hasattr(step, "owner")]
    assert owners == ["65533:65533"]


def test_python_path_expanded_against_base() -> None:
    stage = compile_case("case06-python.yaml", "test")[0]
    config = replay(stage, ImageConfig(env=("PATH=/usr/bin:/bin",))).config
    assert "PATH=/opt/lib/venv/bin:/usr/bin:/bin" in config.env
    assert "VIRTUAL_ENV=/opt/lib/venv" in config.env


def test_node_env_in_image() -> None:
    stage = compile_case("case05-npm-ci.yaml", "prod")[0]
    config = replay(stage, ImageConfig()).config
    assert "NODE_ENV=" in config.env


def test_insecurely_image_config() -> None:
    stage = compile_case("case12-insecurely.yaml", "test")[0]
    config = replay(stage, ImageConfig()).config
    assert config.user == "65533"
    assert "HOME=/home/somebody" in config.env


def test_scratch_stage_config() -> None:
    stages = compile_case("case10-popups.yaml", "distribution")
    config = replay(stages[-1]).config
    assert config.user == ""
    assert config.working_dir == "/"
    assert config.entrypoint is None
    assert config.labels == {
        "blubber.variant": "distribution",
        "blubber.version": "1.8.0+flense",
    }


def test_scratch_stage_has_no_base() -> None:
    stages = compile_case("case10-popups.yaml", "distribution")
    assert stages[-1].base is None
    assert stages[0].base == "docker-registry.wikimedia.org/nodejs10-devel"


def test_includes_base_override() -> None:
    stage = compile_case("case13-includes.yaml", "check")[0]
    assert stage.base == "debian:bookworm-slim"


# --- case 15: builders, bind mount and cache mount ------------------------------


@pytest.fixture(name="case15")
def case15_stages() -> dict[str, Stage]:
    stages = compile_case("case15-builders-mounts.yaml", "web")
    return {stage.name: stage for stage in stages}


def test_case15_stage_order(case15: dict[str, Stage]) -> None:
    assert list(case15) == ["assets", "build", "web"]


def test_case15_assets(case15: dict[str, Stage]) -> None:
    assert lines(case15["assets"]) == [
        *privileged(directory="/src"),
        *dropped("/src"),
        f"copy local ['/package.json', '/package-lock.json'] -> /src/ owner {LIVES}",
        "run npm install",
        f"copy local ['/webpack.config.js'] -> /src/ owner {LIVES}",
        f"copy local ['/src'] -> /src/src/ owner {LIVES}",
        "run npm run build",
        *POST,
        "env NODE_ENV=",
        label("assets"),
    ]


def test_case15_build_exec(case15: dict[str, Stage]) -> None:
    runs = [i for i in case15["build"].instructions if isinstance(i, Run)]
    build = runs[-1]
    assert build.command == "go build"
    assert build.mounts == (
        BindMount(StageSource("assets"), "./dist", "/src/dist"),
        CacheMount("${GOCACHE}", "", "shared", Owner("$LIVES_UID", "$LIVES_GID")),
    )


def test_case15_build_exec_user_and_cwd(case15: dict[str, Stage]) -> None:
    result = replay(case15["build"], ImageConfig())
    step = result.steps[-1]
    assert step.args == ("/bin/sh", "-c", "go build")
    assert step.user == "65533"
    assert step.cwd == "/srv/app"


def test_case15_cache_destination_expands(case15: dict[str, Stage]) -> None:
    from flense.blubber.variables import expand_variables

    result = replay(case15["build"], ImageConfig())
    environment = dict(result.build_env)
    assert expand_variables("${GOCACHE}", environment) == "/var/cache/go"


def test_case15_web(case15: dict[str, Stage]) -> None:
    assert lines(case15["web"]) == [
        "copy build ['/srv/app/web-app'] -> /usr/bin/web-app",
        "entrypoint ['/usr/bin/web-app']",
        label("web"),
    ]


def test_case15_web_config(case15: dict[str, Stage]) -> None:
    config = replay(case15["web"]).config
    assert config.entrypoint == ("/usr/bin/web-app",)
    assert config.user == ""


# --- other compile rules ------------------------------------------------------------


def compile_text(tmp_path: Path, text: str, variant: str) -> tuple[Stage, ...]:
    path = tmp_path / "blubber.yaml"
    path.write_text(text)
    return compile_file(path, variant)


def test_apt_sources_and_proxies(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        """
version: v4
base: debian:bookworm
apt:
  proxies:
    - http://proxy.example:8080
    - url: http://proxy.example:3128
      source: https://security.debian.org/debian
  sources:
    - url: https://apt.example/debian
      distribution: bookworm
      components: [main, contrib]
      signed-by: foo
  packages:
    default: [curl]
    baz-backports: [foo]
variants:
  dev: {}
""",
        "dev",
    )[0]
    privileged_part = lines(stage)[2:8]
    assert privileged_part == [
        "env DEBIAN_FRONTEND=noninteractive",
        "file /etc/apt/apt.conf.d/99blubber-proxies 644",
        "file /etc/apt/keyrings/"
        "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae.asc 644",
        'run apt-get update && apt-get install -y "ca-certificates"',
        "file /etc/apt/sources.list.d/99blubber.list 644",
        'run apt-get update && apt-get install -y -t "baz-backports" "foo"'
        ' && apt-get install -y "curl" && rm -rf /var/lib/apt/lists/*'
        ' && rm -f "/etc/apt/apt.conf.d/99blubber-proxies"',
    ]


def test_apt_file_contents(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        """
version: v4
base: debian:bookworm
apt:
  proxies:
    - http://proxy.example:8080
    - url: http://proxy.example:3128
      source: https://security.debian.org/debian
  sources:
    - url: https://apt.example/debian
      distribution: bookworm
      components: [main]
      signed-by: foo
variants:
  dev: {}
""",
        "dev",
    )[0]
    files = {i.path: i.content for i in stage.instructions if isinstance(i, MakeFile)}
    keyring = (
        "/etc/apt/keyrings/"
        "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae.asc"
    )
    assert files["/etc/apt/apt.conf.d/99blubber-proxies"] == (
        b'Acquire::http::Proxy "http://proxy.example:8080";\n'
        b'Acquire::https::Proxy::security.debian.org "http://proxy.example:3128";\n'
    )
    assert files[keyring] == b"foo"
    assert files["/etc/apt/sources.list.d/99blubber.list"] == (
        f"deb [signed-by={keyring}] https://apt.example/debian bookworm main\n".encode()
    )


def test_arguments_sorted_first(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: debian\narguments: {BB: two, AA: one}\n"
        "variants: {dev: {}}\n",
        "dev",
    )[0]
    assert lines(stage)[2:4] == ["arg AA=one", "arg BB=two"]


def test_script_builder(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: debian\nvariants:\n  dev:\n    builder:\n"
        "      script: make all\n",
        "dev",
    )[0]
    scripts = [i for i in stage.instructions if isinstance(i, RunScript)]
    assert scripts[0].script == b"#!/bin/sh\nmake all"


def test_script_keeps_shebang(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: debian\nvariants:\n  dev:\n    builder:\n"
        '      script: "#!/bin/bash\\nmake"\n',
        "dev",
    )[0]
    scripts = [i for i in stage.instructions if isinstance(i, RunScript)]
    assert scripts[0].script == b"#!/bin/bash\nmake"


def test_runs_in_sets_final_directory(tmp_path: Path) -> None:
    stages = compile_text(
        tmp_path,
        """
version: v4
base: debian
variants:
  build:
    runs: {in: /srv/out}
  final:
    copies: [{from: build, source: bin/app, destination: app}]
""",
        "final",
    )
    assert stages[0].working_directory == "/srv/out"
    assert lines(stages[1])[-4] == (
        f"copy build ['/srv/out/bin/app'] -> /srv/app/app owner {LIVES}"
    )


def test_copy_from_image_relative_source(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nvariants:\n  dev:\n    copies:\n"
        "      - {from: 'busybox:1.36', source: bin/busybox, destination: /bin/}\n",
        "dev",
    )[0]
    copy = stage.instructions[0]
    assert copy == CopyFrom(ImageSource("busybox:1.36"), ("/bin/busybox",), "/bin/")


def test_requirements_from_variant(tmp_path: Path) -> None:
    stages = compile_text(
        tmp_path,
        """
version: v4
base: debian
variants:
  deps:
    lives: {in: /deps}
  build:
    builder:
      command: [make]
      requirements:
        - Makefile
        - {from: deps, source: vendor/, destination: vendor/}
""",
        "build",
    )
    assert [stage.name for stage in stages] == ["deps", "build"]
    start = lines(stages[1]).index("workdir /srv/app") + 1
    assert lines(stages[1])[start : start + 3] == [
        f"copy local ['/Makefile'] -> /srv/app/ owner {LIVES}",
        f"copy deps ['/deps/vendor'] -> /srv/app/vendor/ owner {LIVES}",
        "run make",
    ]


def test_exclude_carried(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nvariants:\n  dev:\n    copies:\n"
        "      - {from: local, exclude: ['**/*.swp']}\n",
        "dev",
    )[0]
    assert stage.instructions[0] == CopyLocal(("/",), "/", None, ("**/*.swp",))


def test_mount_local_is_context(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: debian\nvariants:\n  dev:\n    builder:\n"
        "      command: make\n      mounts: [local]\n",
        "dev",
    )[0]
    run = [i for i in stage.instructions if isinstance(i, Run)][-1]
    assert run.mounts == (BindMount(BuildContext(), "."),)


def test_string_command_verbatim(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: debian\nvariants:\n  dev:\n    builder:\n"
        "      command: 'make -j4 \"all\" && echo $HOME'\n",
        "dev",
    )[0]
    run = [i for i in stage.instructions if isinstance(i, Run)][-1]
    assert run.command == 'make -j4 "all" && echo $HOME'


def test_python_no_deps_check(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: python\nvariants:\n  dev:\n    python:\n"
        "      version: python3\n      requirements: [requirements.txt]\n"
        "      no-deps: true\n      pip-version: '24.0'\n",
        "dev",
    )[0]
    runs = [i.command for i in stage.instructions if isinstance(i, Run)]
    assert 'python3 "-m" "pip" "install" "--no-deps" "-r" "requirements.txt"' in runs
    assert runs[-1] == 'python3 "-m" "pip" "check"'
    assert '"pip==24.0"' in runs[-3]


def test_python2_pins_old_pip(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: python\nvariants:\n  dev:\n    python:\n"
        "      version: python2.7\n      requirements: []\n",
        "dev",
    )[0]
    runs = [i.command for i in stage.instructions if isinstance(i, Run)]
    assert runs[-1].endswith('"pip<21"')


def test_python_short_interpreter(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: python\nvariants:\n  dev:\n    python:\n"
        "      version: python\n      requirements: []\n",
        "dev",
    )[0]
    runs = [i.command for i in stage.instructions if isinstance(i, Run)]
    assert runs[-1].endswith('"pip"')


def test_python_without_version_skipped(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: python\nvariants:\n  dev:\n    python:\n"
        "      requirements: [requirements.txt]\n",
        "dev",
    )[0]
    assert not any("pip" in line for line in lines(stage))


def test_poetry_only_without(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: python\nvariants:\n  dev:\n    python:\n"
        "      version: python3\n      requirements: [pyproject.toml]\n"
        "      poetry: {version: '>=2', only: main, without: dev}\n",
        "dev",
    )[0]
    runs = [i.command for i in stage.instructions if isinstance(i, Run)]
    assert runs[-1] == 'poetry "install" "--no-root" "--only" "main" "--without" "dev"'


def test_node_dedupe_failure_allowed(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\nbase: node\nvariants:\n  dev:\n    node:\n"
        "      requirements: [package.json]\n      env: production\n"
        "      allow-dedupe-failure: true\n",
        "dev",
    )[0]
    runs = [i.command for i in stage.instructions if isinstance(i, Run)]
    assert runs[-1] == (
        'npm dedupe || echo "WARNING: npm dedupe failed, continuing anyways"'
    )


def test_scratch_skips_components(tmp_path: Path) -> None:
    stage = compile_text(
        tmp_path,
        "version: v4\napt: {packages: [curl]}\nvariants:\n  dev:\n"
        "    copies: [local]\n    entrypoint: [/app]\n",
        "dev",
    )[0]
    assert lines(stage) == [
        "copy local ['/'] -> /",
        "entrypoint ['/app']",
        label("dev"),
    ]
