#!/usr/bin/env bash
# Install Docker Engine 26 (with its embedded BuildKit 0.13) when no engine
# of version 26 or newer is present, then start dockerd in the background
# unless it already responds. Safe to run again.
#
# Debian 12's own docker.io is 20.10, whose BuildKit has no MergeOp, so the
# engine comes from Debian 13 (trixie). apt reads trixie through a private
# sources list and private state directories: the system's own lists stay as
# they are. containerd, runc, iptables and tini must come from Debian 12
# first; installed the other way round, apt pulls in trixie's libc6.
set -euo pipefail

state_dir=${FLENSE_ENGINE_STATE:-/var/lib/flense-engine}
config_file=$state_dir/daemon.json
log_file=${FLENSE_DOCKERD_LOG:-/var/log/flense-dockerd.log}
docker=/usr/bin/docker

log() { printf 'engine: %s\n' "$*" >&2; }

engine_major() {
    # Prints the engine's major version, or nothing when no engine responds.
    "$docker" version --format '{{.Server.Version}}' 2>/dev/null | cut -d. -f1
}

installed_major() {
    dpkg-query -W -f '${Version}' docker.io 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'
}

mirror_url() {
    # The same mirror the system's own sources use, so trixie comes from the
    # place Debian 12 packages come from.
    local url
    url=$(grep -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -v security | head -n1 | awk '{print $2}')
    if [ -z "$url" ]; then
        url=$(grep -hoE '^deb +[^ ]+' /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $2}')
    fi
    echo "${url:-http://deb.debian.org/debian}"
}

install_engine() {
    export DEBIAN_FRONTEND=noninteractive
    log "installing containerd, runc, iptables and tini from the system's sources"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends containerd runc iptables tini ca-certificates >/dev/null

    log "installing docker.io, docker-cli and docker-buildx from Debian 13"
    mkdir -p "$state_dir/lists/partial" "$state_dir/cache/archives/partial"
    echo "deb $(mirror_url) trixie main" >"$state_dir/trixie.list"
    local apt_options=(
        -o "Dir::Etc::sourcelist=$state_dir/trixie.list"
        -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$state_dir/lists"
        -o "Dir::Cache=$state_dir/cache"
    )
    apt-get "${apt_options[@]}" update -qq
    apt-get "${apt_options[@]}" install -y -qq --no-install-recommends \
        docker.io docker-cli docker-buildx >/dev/null
}

write_config() {
    # BuildKit in Docker Engine 26 runs MergeOp and DiffOp only with the
    # containerd image store ("requested feature mergeop has been disabled on
    # the build server" otherwise). The system's /etc/docker/daemon.json is
    # left as it is: its settings are copied into a file of our own, with the
    # containerd-snapshotter feature turned on.
    mkdir -p "$state_dir"
    python3 - "$config_file" <<'PY'
import json, os, sys
target = sys.argv[1]
config = {}
if os.path.exists("/etc/docker/daemon.json"):
    with open("/etc/docker/daemon.json") as f:
        config = json.load(f)
config.setdefault("features", {})["containerd-snapshotter"] = True
with open(target + ".tmp", "w") as f:
    json.dump(config, f, indent=2)
os.replace(target + ".tmp", target)
PY
}

uses_containerd_store() {
    "$docker" info --format '{{json .DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'
}

start_dockerd() {
    write_config
    log "starting dockerd with the containerd image store (log: $log_file)"
    nohup dockerd --config-file "$config_file" >"$log_file" 2>&1 &
    for _ in $(seq 1 60); do
        if "$docker" version >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    log "dockerd did not respond within 30 s; last lines of $log_file:"
    tail -n 20 "$log_file" >&2
    exit 1
}

major=$(installed_major || true)
if [ -z "$major" ] || [ "$major" -lt 26 ] || [ ! -x "$docker" ]; then
    install_engine
fi

running=$(engine_major || true)
if [ -z "$running" ]; then
    start_dockerd
    running=$(engine_major)
fi
if ! uses_containerd_store; then
    log "the running dockerd does not use the containerd image store, so BuildKit refuses MergeOp; stop dockerd and run this script again (it starts dockerd with --config-file $config_file)"
    exit 1
fi
if [ "$running" -lt 26 ]; then
    log "the running engine is version $running; flense needs Docker Engine 26 or newer (stop it and run this script again)"
    exit 1
fi
log "Docker Engine $("$docker" version --format '{{.Server.Version}}') is running"
