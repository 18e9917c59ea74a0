#!/usr/bin/env bash
# Build the bundled example superproject into one image and show the result.
#
#   1. scripts/setup.sh: engine, .venv with flense, local base images;
#   2. scripts/prepare-example.sh: a copy of examples/mediawiki in
#      build/example, with a git repository in every component;
#   3. flense build of its .pipeline/manifest.yaml, loaded into Docker's
#      image store as flense-example:latest;
#   4. the image's layers and the files under /srv/mediawiki.
#
# With a standalone BuildKit daemon and buildctl, step 3 has a piped form
# that runs in the same directory:
#
#   flense compile .pipeline/manifest.yaml \
#       | buildctl build --local context=. --output type=image,name=flense-example:latest
#
# Needs root (see scripts/setup.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag=flense-example:latest
docker=${DOCKER:-docker}

bash "$repo/scripts/setup.sh"
example=$(bash "$repo/scripts/prepare-example.sh")
cd "$example"

echo
echo "== flense build .pipeline/manifest.yaml --tag $tag (in $example)"
start=$SECONDS
"$repo/.venv/bin/flense" build .pipeline/manifest.yaml --tag "$tag"
echo "build took $((SECONDS - start)) s"

echo
echo "== layers of $tag"
"$docker" history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$tag"
"$docker" image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' "$tag"

# The image starts from scratch and has no shell, so its files are read from
# an exported container. The command given to `docker create` never runs.
container=$("$docker" create "$tag" /no-command)
trap '"$docker" rm "$container" >/dev/null' EXIT
listing=$("$docker" export "$container" | tar -tv | grep -E ' srv/mediawiki(/|$)' || true)

echo
echo "== files under /srv/mediawiki in $tag"
printf '%s\n' "$listing"

echo
echo "== paths that the manifest excludes (.git, docs, node_modules) found in the image:"
excluded=$(printf '%s\n' "$listing" | grep -E '/(\.git|docs|node_modules)(/|$)' || true)
if [ -n "$excluded" ]; then
    printf '%s\n' "$excluded"
    exit 1
fi
echo "none"
