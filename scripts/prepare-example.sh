#!/usr/bin/env bash
# Copy the bundled example superproject (examples/mediawiki) to DEST and add
# what a git checkout of the example cannot carry:
#
#   - a .git directory with one commit in every component, as a submodule
#     checkout has;
#   - an empty directory (mediawiki/cache);
#   - a hardlink pair (extensions/Cite/modules/ext.cite.css and
#     ext.cite.print.css).
#
# Usage: scripts/prepare-example.sh [DEST]    (default: build/example in the repo)
#
# DEST is replaced when it is a previous output of this script, which the
# marker file DEST/.flense-example identifies. Any other existing DEST that
# is not an empty directory is left alone and the script fails. The script
# prints DEST's absolute path on stdout.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source_dir=$repo/examples/mediawiki
dest=${1:-$repo/build/example}
marker_name=.flense-example

log() { printf 'prepare-example: %s\n' "$*" >&2; }

if [ $# -gt 1 ]; then
    echo "usage: $0 [DEST]" >&2
    exit 2
fi

if ! command -v git >/dev/null 2>&1; then
    log "installing git"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache policy git 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        apt-get update -qq
    fi
    apt-get install -y -qq --no-install-recommends git >/dev/null
fi

if [ -e "$dest" ] || [ -L "$dest" ]; then
    if [ -f "$dest/$marker_name" ] && [ ! -L "$dest" ]; then
        rm -rf --one-file-system "$dest"
    elif [ -d "$dest" ] && [ ! -L "$dest" ] && [ -z "$(ls -A "$dest")" ]; then
        rmdir "$dest"
    else
        log "$dest exists and is not a previous output of this script (no $marker_name in it);"
        log "remove it yourself or choose another DEST"
        exit 1
    fi
fi

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
cp -a "$source_dir/." "$dest/"
printf '%s\n' \
    "Made by scripts/prepare-example.sh from examples/mediawiki." \
    "The script deletes this directory when it runs again with the same DEST." \
    >"$dest/$marker_name"

# Components follow the superproject layout: core in mediawiki/, then one
# directory per extension and skin, and vendor/.
components=(mediawiki)
for component in "$dest"/extensions/* "$dest"/skins/*; do
    components+=("${component#"$dest"/}")
done
components+=(vendor)

ln "$dest/extensions/Cite/modules/ext.cite.css" "$dest/extensions/Cite/modules/ext.cite.print.css"

# Fixed identity and dates make every run produce the same commits, and an
# empty global and system configuration keeps the user's hooks, signing and
# templates out of them.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Example Author" GIT_AUTHOR_EMAIL="author@example.invalid"
export GIT_COMMITTER_NAME="Example Author" GIT_COMMITTER_EMAIL="author@example.invalid"
export GIT_AUTHOR_DATE="2020-11-20T12:00:00Z" GIT_COMMITTER_DATE="2020-11-20T12:00:00Z"
for component in "${components[@]}"; do
    git -C "$dest/$component" init -q -b main
    git -C "$dest/$component" add -A
    git -C "$dest/$component" commit -q -m "Import $component for the flense example"
done

# Git does not record empty directories, so this one is made after the commit.
mkdir "$dest/mediawiki/cache"

log "prepared $dest (${#components[@]} components, each with a .git directory)"
echo "$dest"
