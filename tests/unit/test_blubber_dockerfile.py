"""Dockerfile rendering of compiled stages."""

from __future__ import annotations

from pathlib import Path

from flense.blubber import compile_file, render_dockerfile

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
