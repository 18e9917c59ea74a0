#!/usr/bin/env bash
# Run the test suite: scripts/setup.sh first (engine, .venv, base images),
# then pytest over tests/. Arguments go to pytest unchanged, for example
#
#   scripts/test.sh -m 'not engine'      # only the tests that need no engine
#   scripts/test.sh tests/unit -x -q
#
# Fails when pytest collects no test (its exit status 5), so an empty or
# mistyped selection does not pass silently.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bash "$repo/scripts/setup.sh"
cd "$repo"

status=0
"$repo/.venv/bin/pytest" tests "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests; check the test files and the arguments: $*" >&2
fi
exit "$status"
