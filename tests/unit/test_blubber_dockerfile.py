"""Dockerfile rendering of compiled stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from flense.blubber import compile_file, render_dockerfile
from flense.builders.blubber import render_dockerfile as render_variant
from flense.errors import UserInputError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blubber"

LIVES_CHAIN = (
    'RUN (getent group "$LIVES_GID" || groupadd -o -g "$LIVES_GID" -r "$LIVES_AS")'
    ' && (getent passwd "$LIVES_UID" || useradd -l -o -m -d "/home/$LIVES_AS" -r -g'
    ' "$LIVES_GID" -u "$LIVES_UID" "$LIVES_AS") && mkdir -p "/srv/mediawiki" && chown'
    ' "$LIVES_UID":"$LIVES_GID" "/srv/mediawiki" && mkdir -p "/opt/lib" && chown'
    ' "$LIVES_UID":"$LIVES_GID" "/opt/lib"'
)
RUNS_CHAIN = (
    'RUN (getent group "$RUNS_GID" || groupadd -o -g "$RUNS_GID" -r "$RUNS_AS")'
    ' && (getent passwd "$RUNS_UID" || useradd -l -o -m -d "/home/$RUNS_AS" -r -g'
    ' "$RUNS_GID" -u "$RUNS_UID" "$RUNS_AS")'
)

REQUIREMENTS_COPY = (
    'COPY --chown=$LIVES_UID:$LIVES_GID ["/package.json", "/package-lock.json",'
    ' "/srv/mediawiki/"]'
)

POPUPS = f"""\
FROM docker-registry.wikimedia.org/nodejs10-devel AS prep
USER "0"
ENV HOME="/root"
ARG LIVES_AS="somebody"
ARG LIVES_UID="65533"
ARG LIVES_GID="65533"
{LIVES_CHAIN}
ARG RUNS_AS="runuser"
ARG RUNS_UID="900"
ARG RUNS_GID="900"
{RUNS_CHAIN}
USER "$LIVES_UID"
ENV HOME="/home/somebody"
WORKDIR "/srv/mediawiki"
{REQUIREMENTS_COPY}
RUN npm install
COPY --chown=$LIVES_UID:$LIVES_GID ["/src", "/srv/mediawiki/src/"]
COPY --chown=$LIVES_UID:$LIVES_GID ["/resources", "/srv/mediawiki/resources/"]
COPY --chown=$LIVES_UID:$LIVES_GID ["/webpack.config.js", "/srv/mediawiki/"]
RUN npm "run-script" "build"
USER "$RUNS_UID"
ENV HOME="/home/$RUNS_AS"
ENV NODE_ENV=""
LABEL blubber.variant="prep" blubber.version="1.8.0+flense"

FROM scratch AS distribution
COPY --from=prep ["/srv/mediawiki", "/dist"]
LABEL blubber.variant="distribution" blubber.version="1.8.0+flense"

"""


def test_popups_dockerfile() -> None:
    stages = compile_file(FIXTURES / "case10-popups.yaml", "distribution")
    assert render_dockerfile(stages) == POPUPS


def test_mounts_rendered() -> None:
    stages = compile_file(FIXTURES / "case15-builders-mounts.yaml", "web")
    text = render_dockerfile(stages)
    assert (
        "RUN --mount=type=bind,target=./dist,from=assets,source=/src/dist,rw "
        "--mount=type=cache,target=${GOCACHE},id=${GOCACHE},sharing=shared,"
        "uid=$LIVES_UID,gid=$LIVES_GID go build"
    ) in text.splitlines()


def test_entrypoint_and_chown_from() -> None:
    stages = compile_file(FIXTURES / "case11-shorthand-copies.yaml", "production")
    lines = render_dockerfile(stages).splitlines()
    assert (
        'COPY --chown=$LIVES_UID:$LIVES_GID --from=build ["/srv/app", "/srv/app"]'
        in lines
    )
    assert 'ENTRYPOINT ["./app"]' in lines


def test_apt_file_heredoc(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(
        "version: v4\nbase: debian\napt:\n  proxies: [http://proxy:8080]\n"
        "  packages: [curl]\nvariants:\n  dev: {}\n"
    )
    text = render_dockerfile(compile_file(path, "dev"))
    assert (
        "COPY --chmod=644 <<'EOF' /etc/apt/apt.conf.d/99blubber-proxies\n"
        'Acquire::http::Proxy "http://proxy:8080";\n'
        "EOF\n"
    ) in text


def test_script_heredoc(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(
        "version: v4\nbase: debian\nvariants:\n  dev:\n    builder:\n"
        "      script: |\n        make\n        EOF\n"
    )
    text = render_dockerfile(compile_file(path, "dev"))
    assert "RUN <<'EOF_'\n#!/bin/sh\nmake\nEOF\nEOF_\n" in text


def test_exclude_adds_labs_syntax(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(
        "version: v4\nvariants:\n  dev:\n    lives: {in: /app}\n"
        "    copies: [{from: local, source: src, destination: /app, exclude: [b]}]\n"
    )
    lines = render_dockerfile(compile_file(path, "dev")).splitlines()
    assert lines[0] == "# syntax=docker/dockerfile:1.7-labs"
    assert 'COPY --exclude=b ["/src", "/app"]' in lines


def test_no_labs_syntax_without_exclude() -> None:
    stages = compile_file(FIXTURES / "case10-popups.yaml", "distribution")
    assert not render_dockerfile(stages).startswith("# syntax=")


ENV_VARIANT = """\
version: v4
base: debian
arguments:
  PRICE: "$5"
variants:
  dev:
    runs:
      environment: {{VALUE: {value}}}
    builder:
      command: [{command}]
"""

# (case, environment value, builder command, expected ENV line, expected RUN line)
EXPANSIONS = [
    (
        "reference kept",
        '"$HOME/bin"',
        "make",
        'ENV VALUE="$HOME/bin"',
        "RUN make",
    ),
    (
        "default dropped",
        '"${Z:-d} x"',
        '"echo ${Z:-d}"',
        'ENV VALUE=" x"',
        "RUN echo ",
    ),
    (
        "pid dropped",
        '"$$ cost"',
        '"echo $$ $1"',
        'ENV VALUE=" cost"',
        "RUN echo  ",
    ),
    (
        "literal dollar escaped",
        '"a $( b $"',
        '"echo $(date)"',
        'ENV VALUE="a \\$( b \\$"',
        "RUN echo $(date)",
    ),
    (
        "quotes and backslashes",
        "'say \"hi\" \\n'",
        "make",
        'ENV VALUE="say \\"hi\\" \\\\n"',
        "RUN make",
    ),
]


@pytest.mark.parametrize(
    ("case", "value", "command", "env_line", "run_line"),
    EXPANSIONS,
    ids=[case[0] for case in EXPANSIONS],
)
def test_dollar_as_blubber_expands(
    tmp_path: Path, case: str, value: str, command: str, env_line: str, run_line: str
) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(ENV_VARIANT.format(value=value, command=command))
    lines = render_dockerfile(compile_file(path, "dev")).splitlines()
    assert env_line in lines
    assert run_line in lines


def test_argument_default_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(ENV_VARIANT.format(value="x", command="make"))
    lines = render_dockerfile(compile_file(path, "dev")).splitlines()
    assert 'ARG PRICE="\\$5"' in lines


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        (
            "version: v4\nbase: debian\nvariants:\n  dev:\n"
            '    runs: {environment: {MULTI: "a\\nb"}}\n',
            5,
            33,
        ),
        (
            'version: v4\nbase: debian\nruns: {environment: {MULTI: "a\\rb"}}\n'
            "variants:\n  dev: {}\n",
            3,
            29,
        ),
        (
            'version: v4\nbase: debian\narguments: {MULTI: "a\\nb"}\n'
            "variants:\n  dev: {}\n",
            3,
            20,
        ),
    ],
)
def test_line_break_rejected(tmp_path: Path, text: str, line: int, column: int) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError) as caught:
        render_variant(path, "dev")
    assert caught.value.exit_code == 2
    assert caught.value.location is not None
    assert (caught.value.location.line, caught.value.location.column) == (
        line,
        column,
    )
    assert caught.value.message.startswith(
        "variant dev: the value of MULTI contains a line break, which a "
        "Dockerfile cannot hold"
    )


def test_render_variant_checks_context(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(
        "version: v4\nvariants:\n  dev:\n    lives: {in: /app}\n"
        "    copies: [{from: local, source: gone, destination: /app}]\n"
    )
    assert render_variant(path, "dev").startswith("FROM scratch AS dev")
    with pytest.raises(UserInputError, match='local source "gone" not found'):
        render_variant(path, "dev", tmp_path)
