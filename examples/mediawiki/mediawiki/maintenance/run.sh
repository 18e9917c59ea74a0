#!/bin/sh
# Run a maintenance script by name: maintenance/run.sh update --quick
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 SCRIPT [ARGUMENTS...]" >&2
	exit 2
fi

script=$1
shift
here=$(dirname "$0")
if [ ! -f "$here/$script.php" ]; then
	echo "maintenance script not found: $here/$script.php" >&2
	exit 1
fi
exec php "$here/$script.php" "$@"
