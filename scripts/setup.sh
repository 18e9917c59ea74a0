#!/usr/bin/env bash
# Prepare a Debian 12 machine for flense: the engine (scripts/engine.sh),
# a virtual environment in .venv with flense and its dev tools installed
# editable, and the local base images (scripts/base-images.sh). Each step is
# skipped when it has nothing to do, so the script is safe to run again.
#
# Needs root: the engine and base-image steps install Debian packages and
# start dockerd.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$repo/.venv
# Records the pyproject.toml that the last successful install used. A change
# to pyproject.toml (new dependencies, new entry points) triggers a reinstall.
install_stamp=$venv/.flense-installed

log() { printf 'setup: %s\n' "$*" >&2; }

ensure_python() {
    # Debian splits venv support (ensurepip) into python3-venv.
    if command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null; then
        return 0
    fi
    log "installing python3 and python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache policy python3-venv 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        apt-get update -qq
    fi
    apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip \
        >/dev/null
}

ensure_venv() {
    if [ ! -x "$venv/bin/python" ]; then
        ensure_python
        log "creating $venv"
        python3 -m venv "$venv"
    fi

    if [ -e "$install_stamp" ] && cmp -s "$install_stamp" "$repo/pyproject.toml" \
        && [ -x "$venv/bin/flense" ]; then
        return 0
    fi
    local start=$SECONDS
    log "installing flense with its dev extras into $venv (pip install -e '.[dev]')"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e "$repo[dev]"
    cp "$repo/pyproject.toml" "$install_stamp"
    log "pip install took $((SECONDS - start)) s"
}

bash "$repo/scripts/engine.sh"
ensure_venv
bash "$repo/scripts/base-images.sh"
