#!/usr/bin/env bash
# Make the local base images that tests and the bundled example build on.
# No container registry is reachable from these machines, so each image is
# made from Debian packages and loaded with `docker import`. An image whose
# tag already exists is skipped, so the script is safe to run again.
#
#   flense-test/busybox:latest  busybox-static with applet links, root and nobody
#   flense-test/node:latest     Debian 12 minbase with nodejs, npm, passwd and the
#                               host's extra CA certificates; also tagged
#                               docker-registry.wikimedia.org/nodejs10-devel:latest
#
# Usage: scripts/base-images.sh [--check]
#   --check   run the node image checks (node --version, npm view) even when
#             no image was made
#
# Needs root (apt-get, debootstrap, chroot) and a running engine (scripts/engine.sh).
set -euo pipefail

cache_dir=${FLENSE_CACHE_DIR:-/var/cache/flense}
docker=${DOCKER:-docker}
busybox_tag=flense-test/busybox:latest
node_tag=flense-test/node:latest
node_alias=docker-registry.wikimedia.org/nodejs10-devel:latest
node_rootfs=$cache_dir/bookworm-node-rootfs
log_file=$cache_dir/base-images.log
image_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'base-images: %s\n' "$*" >&2; }

run_logged() {
    # Runs a command with its output in $log_file, and prints the end of
    # that log when the command fails.
    local status=0
    "$@" >"$log_file" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        log "failed ($status): $*; last lines of $log_file:"
        tail -n 20 "$log_file" >&2
    fi
    return "$status"
}

image_exists() {
    "$docker" image inspect --format '{{.Id}}' "$1" >/dev/null 2>&1
}

mirror_url() {
    # The mirror the system's own Debian sources use (deb822 first, then the
    # one-line format), so the images get the packages the host would get.
    local url
    url=$(grep -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -v security | head -n1 | awk '{print $2}')
    if [ -z "$url" ]; then
        url=$(grep -hoE '^deb +[^ ]+' /etc/apt/sources.list 2>/dev/null \
            | grep -v security | head -n1 | awk '{print $2}')
    fi
    echo "${url:-http://deb.debian.org/debian}"
}

ensure_host_package() {
    # Installs a host package when its command is missing. apt-get update
    # runs only when apt has no candidate for it (a fresh machine has no lists).
    local command=$1 package=$2
    if command -v "$command" >/dev/null 2>&1; then
        return 0
    fi
    if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        run_logged apt-get update
    fi
    log "installing $package"
    DEBIAN_FRONTEND=noninteractive run_logged apt-get install -y --no-install-recommends \
        "$package"
}

import_rootfs() {
    # Streams a root filesystem directory into `docker import` as TAG.
    # Owners are written as numbers so the image does not depend on the
    # host's user names. Contents of /proc, /sys and /dev are left out
    # because the engine provides them when a container runs.
    local rootfs=$1 tag=$2
    tar -C "$rootfs" --numeric-owner --xattrs -c \
        --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' . \
        | "$docker" import --change "ENV PATH=$image_path" - "$tag" >/dev/null
}

make_busybox_image() {
    local start=$SECONDS work rootfs deb applet
    work=$(mktemp -d)
    rootfs=$work/rootfs

    # Take /bin/busybox out of Debian's busybox-static package without
    # installing it, because it conflicts with the host's busybox package.
    if ! apt-cache policy busybox-static 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        run_logged apt-get update
    fi
    # The download runs as root because apt's _apt user cannot write to the
    # private temporary directory.
    (cd "$work" && run_logged apt-get download -o APT::Sandbox::User=root busybox-static)
    deb=$(echo "$work"/busybox-static_*.deb)
    dpkg-deb -x "$deb" "$work/package"

    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/tmp" \
        "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
    install -m 0755 "$work/package/bin/busybox" "$rootfs/bin/busybox"
    # The host runs the static binary to list its applets with their full
    # paths (bin/sh, usr/bin/awk, ...); each becomes a link to /bin/busybox.
    for applet in $("$rootfs/bin/busybox" --list-full); do
        if [ "$applet" = bin/busybox ]; then
            continue
        fi
        mkdir -p "$rootfs/$(dirname "$applet")"
        ln -sf /bin/busybox "$rootfs/$applet"
    done

    printf '%s\n' \
        'root:x:0:0:root:/root:/bin/sh' \
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"
    chmod 0700 "$rootfs/root"
    chmod 1777 "$rootfs/tmp"

    import_rootfs "$rootfs" "$busybox_tag"
    rm -rf "$work"
    log "made $busybox_tag in $((SECONDS - start)) s"
}

unmount_rootfs() {
    # Removes mounts that this script or an interrupted debootstrap left
    # inside the rootfs, deepest first.
    local rootfs=$1 mount_point
    for mount_point in dev/pts dev sys proc; do
        if mountpoint -q "$rootfs/$mount_point"; then
            umount -l "$rootfs/$mount_point"
        fi
    done
}

run_in_chroot() {
    # Runs a command inside the node rootfs with /proc mounted, as dpkg
    # maintainer scripts expect.
    local rootfs=$1
    shift
    mount -t proc proc "$rootfs/proc"
    local status=0
    LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$rootfs" "$@" || status=$?
    umount "$rootfs/proc"
    return "$status"
}

make_node_rootfs() {
    # Builds (or reuses) the Debian 12 rootfs for the node image. A stamp
    # file next to the rootfs marks each finished stage, so a later run
    # resumes at the first stage that did not finish.
    local rootfs=$node_rootfs mirror start
    mirror=$(mirror_url)
    unmount_rootfs "$rootfs"
    trap 'unmount_rootfs "$node_rootfs"' EXIT

    if [ ! -e "$rootfs.debootstrap-done" ]; then
        ensure_host_package debootstrap debootstrap
        start=$SECONDS
        log "debootstrap --variant=minbase bookworm into $rootfs (mirror $mirror)"
        rm -rf --one-file-system "$rootfs" "$rootfs.packages-done"
        mkdir -p "$rootfs"
        run_logged debootstrap --variant=minbase bookworm "$rootfs" "$mirror"
        touch "$rootfs.debootstrap-done"
        log "debootstrap took $((SECONDS - start)) s"
    else
        log "reusing the Debian 12 rootfs in $rootfs"
    fi

    if [ ! -e "$rootfs.packages-done" ]; then
        start=$SECONDS
        log "installing nodejs, npm, ca-certificates and passwd in the rootfs"
        # passwd brings groupadd and useradd, which Blubber-style builds run
        # to create their build and run users (getent is in libc-bin).
        run_logged run_in_chroot "$rootfs" apt-get update
        run_logged run_in_chroot "$rootfs" apt-get install -y --no-install-recommends \
            nodejs npm ca-certificates passwd
        touch "$rootfs.packages-done"
        log "package install took $((SECONDS - start)) s"
    fi

    # Where outbound HTTPS passes through a TLS-intercepting proxy, the
    # proxy's CA is among the host's extra certificates, and without it npm
    # fails with SELF_SIGNED_CERT_IN_CHAIN. This step runs on every rebuild
    # so the image gets the host's current CAs.
    local crt copied=0
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    for crt in /usr/local/share/ca-certificates/*.crt; do
        if [ -e "$crt" ]; then
            cp "$crt" "$rootfs/usr/local/share/ca-certificates/"
            copied=$((copied + 1))
        fi
    done
    run_logged run_in_chroot "$rootfs" update-ca-certificates
    log "copied $copied extra CA certificate(s) from the host"

    run_logged run_in_chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/*
}

make_node_image() {
    local start
    make_node_rootfs

    start=$SECONDS
    import_rootfs "$node_rootfs" "$node_tag"
    log "made $node_tag in $((SECONDS - start)) s (docker import)"
}

check_node_image() {
    local start=$SECONDS version npm_output
    version=$("$docker" run --rm "$node_tag" node --version)
    log "node --version in $node_tag: $version"
    # npm view reaches the npm registry over HTTPS, so it fails when the
    # image lacks a CA certificate that the connection needs.
    if ! npm_output=$("$docker" run --rm "$node_tag" npm view is-number version 2>&1); then
        log "npm view is-number version failed in $node_tag:"
        printf '%s\n' "$npm_output" >&2
        exit 1
    fi
    log "npm view is-number version in $node_tag: $npm_output ($((SECONDS - start)) s for both checks)"
}

check=false
case "${1:-}" in
    --check) check=true ;;
    "") ;;
    *)
        echo "usage: $0 [--check]" >&2
        exit 2
        ;;
esac

mkdir -p "$cache_dir"

if ! image_exists "$busybox_tag"; then
    make_busybox_image
fi

if ! image_exists "$node_tag"; then
    make_node_image
    check=true
fi
if ! image_exists "$node_alias"; then
    "$docker" tag "$node_tag" "$node_alias"
    log "tagged $node_tag as $node_alias"
fi

if "$check"; then
    check_node_image
fi
