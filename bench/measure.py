"""Measure the shape of a superproject tree, one row per component.

``python bench/measure.py ROOT`` prints a markdown table: file count, total
bytes, file-size percentiles and directory depth for each component
(``mediawiki``, ``vendor``, ``extensions/*``, ``skins/*``), counting only the
files that the benchmark manifests keep. The generator's
size model in ``generate.py`` was fitted to this output for a real tree.
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

PERCENTILES = (10, 25, 50, 75, 90, 99)

# The excludes of the benchmark manifests (".git", "**/node_modules", "docs"),
# applied per component the way flense anchors them.
_EXCLUDED_ANYWHERE = frozenset({"node_modules"})
_EXCLUDED_AT_TOP = frozenset({".git", "docs"})


@dataclass(frozen=True)
class ComponentShape:
    """File and directory statistics of one component directory."""

    name: str
    files: int
    directories: int
    total_bytes: int
    size_percentiles: tuple[int, ...]
    max_size: int
    median_depth: float
    max_depth: int


def find_components(root: Path) -> list[Path]:
    """List the component directories of a superproject in manifest order."""
    components = [root / "mediawiki"]
    for group in ("extensions", "skins"):
        group_dir = root / group
        if group_dir.is_dir():
            components += sorted(p for p in group_dir.iterdir() if p.is_dir())
    components.append(root / "vendor")
    return [path for path in components if path.is_dir()]


def measure_component(root: Path, path: Path) -> ComponentShape:
    """Walk one component without following symlinks and collect its shape."""
    sizes: list[int] = []
    depths: list[int] = []
    directories = 0
    for directory, subdirectories, filenames in os.walk(path):
        depth = Path(directory).relative_to(path).parts
        subdirectories[:] = [
            name
            for name in subdirectories
            if name not in _EXCLUDED_ANYWHERE
            and not (not depth and name in _EXCLUDED_AT_TOP)
        ]
        directories += 1
        for filename in filenames:
            file_path = os.path.join(directory, filename)
            sizes.append(os.lstat(file_path).st_size)
            depths.append(len(depth) + 1)
    sizes.sort()
    return ComponentShape(
        name=str(path.relative_to(root)),
        files=len(sizes),
        directories=directories,
        total_bytes=sum(sizes),
        size_percentiles=tuple(_percentile(sizes, p) for p in PERCENTILES),
        max_size=sizes[-1] if sizes else 0,
        median_depth=statistics.median(depths) if depths else 0.0,
        max_depth=max(depths, default=0),
    )


def _percentile(sorted_values: list[int], percent: int) -> int:
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, len(sorted_values) * percent // 100)
    return sorted_values[index]


def format_table(shapes: list[ComponentShape]) -> str:
    """Render the shapes as a markdown table, with a total row."""
    header = (
        "| component | files | dirs | MiB | "
        + " | ".join(f"p{p}" for p in PERCENTILES)
        + " | max | depth p50 | depth max |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for shape in shapes:
        cells = [
            shape.name,
            str(shape.files),
            str(shape.directories),
            f"{shape.total_bytes / 2**20:.1f}",
            *(_human(size) for size in shape.size_percentiles),
            _human(shape.max_size),
            f"{shape.median_depth:g}",
            str(shape.max_depth),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    total_files = sum(shape.files for shape in shapes)
    total_bytes = sum(shape.total_bytes for shape in shapes)
    lines.append(
        f"| **all {len(shapes)}** | {total_files} | "
        f"{sum(shape.directories for shape in shapes)} | "
        f"{total_bytes / 2**20:.1f} |" + " |" * (len(PERCENTILES) + 3)
    )
    return "\n".join(lines)


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 2**20:
        return f"{size / 1024:.1f} K"
    return f"{size / 2**20:.1f} M"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="superproject root directory")
    args = parser.parse_args()
    shapes = [measure_component(args.root, path) for path in find_components(args.root)]
    print(format_table(shapes))


if __name__ == "__main__":
    main()
