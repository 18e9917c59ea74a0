"""Describe the machine and render the benchmark results as markdown."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contenders import DOCKER, Contender, Measurement


@dataclass(frozen=True)
class RunRecord:
    """One timed run of one scenario by one contender."""

    contender: str
    scenario: str
    round: int
    measurement: Measurement | None
    layers_changed: int | None
    error: str | None = None


@dataclass(frozen=True)
class TreeDescription:
    """Summary of the benchmarked tree, for the report's header."""

    label: str
    components: int
    kept_files: int | None
    kept_bytes: int | None
    generation: str


def machine_description(workdir: Path) -> list[tuple[str, str]]:
    """Collect CPU, memory, disk, kernel and engine facts as (name, value) pairs."""
    return [
        ("CPU", _cpu_model()),
        ("cores", str(_cpu_count())),
        ("memory", _memory()),
        ("disk", _disk(workdir)),
        ("kernel", f"{platform.system()} {platform.release()}"),
        (
            "engine",
            _output(
                [DOCKER, "version", "--format", "Docker Engine {{.Server.Version}}"]
            ),
        ),
        (
            "engine storage",
            _output([DOCKER, "info", "--format", "{{.Driver}} at {{.DockerRootDir}}"]),
        ),
        ("buildx", _output([DOCKER, "buildx", "version"])),
        ("python", platform.python_version()),
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _disk(path: Path) -> str:
    columns = _output(["df", "--output=source,fstype,size", "-B1", str(path)])
    fields = columns.splitlines()[-1].split() if columns else []
    if len(fields) != 3:
        return "unknown"
    source, fstype, size = fields
    return f"{fstype} on {source}, {int(size) / 2**30:.0f} GiB"


def _output(argv: Sequence[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    if result.returncode != 0:
        return f"unknown ({result.stderr.strip()})"
    return result.stdout.strip()


def render(
    *,
    command: str,
    date: str,
    machine: Sequence[tuple[str, str]],
    tree: TreeDescription,
    contenders: Sequence[Contender],
    scenarios: Sequence[str],
    records: Sequence[RunRecord],
    skipped: dict[str, str],
    runs: int,
    pruned: bool,
) -> str:
    """Render the whole results page."""
    lines = [
        "# Whole builds",
        "",
        f"Written by `{command}` on {date}. Timings are wall-clock seconds, "
        f"median of {runs} run(s) with the range in brackets; the contenders "
        "take turns, in a rotated order each round.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in machine]
    lines += ["", "## Tree", ""]
    lines.append(f"- input: {tree.label}")
    lines.append(f"- components: {tree.components}")
    if tree.kept_files is not None and tree.kept_bytes is not None:
        lines.append(
            f"- kept by the manifest: {tree.kept_files} files, "
            f"{tree.kept_bytes / 2**20:.1f} MiB"
        )
    lines.append(f"- generation: {tree.generation}")
    lines += ["", "## Wall time", ""]
    lines += _summary_table(contenders, scenarios, records, skipped)
    lines += ["", "## Details", ""]
    lines += _detail_table(contenders, scenarios, records)
    errors = [record for record in records if record.error]
    if errors:
        lines += ["", "## Failed runs", ""]
        lines += [
            f"- {record.contender}, {record.scenario}, round {record.round + 1}: "
            f"{record.error}"
            for record in errors
        ]
    lines += ["", "## Method", "", *_method_notes(pruned)]
    return "\n".join(lines) + "\n"


def _summary_table(
    contenders: Sequence[Contender],
    scenarios: Sequence[str],
    records: Sequence[RunRecord],
    skipped: dict[str, str],
) -> list[str]:
    lines = [
        "| contender | " + " | ".join(scenarios) + " |",
        "|---|" + "---|" * len(scenarios),
    ]
    for contender in contenders:
        cells = []
        for scenario in scenarios:
            if contender.name in skipped and scenario in contender.scenarios:
                cells.append("not run")
                continue
            seconds = _seconds(records, contender.name, scenario)
            cells.append(_time_cell(seconds) if seconds else "")
        description = contender.description.replace("|", "\\|")
        lines.append(f"| {description} | " + " | ".join(cells) + " |")
    for name, reason in skipped.items():
        lines.append("")
        lines.append(f"{name}: not run, because {reason}.")
    return lines


def _detail_table(
    contenders: Sequence[Contender],
    scenarios: Sequence[str],
    records: Sequence[RunRecord],
) -> list[str]:
    lines = [
        "| contender | scenario | runs | median s | min–max s | transferred "
        "| layers | layers changed | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for contender in contenders:
        for scenario in scenarios:
            done = [
                record
                for record in records
                if record.contender == contender.name
                and record.scenario == scenario
                and record.measurement is not None
            ]
            if not done:
                continue
            measurements = [record.measurement for record in done if record.measurement]
            seconds = [measurement.seconds for measurement in measurements]
            transferred = [
                m.bytes_transferred
                for m in measurements
                if m.bytes_transferred is not None
            ]
            layers = [len(m.layers) for m in measurements if m.layers is not None]
            changed = [r.layers_changed for r in done if r.layers_changed is not None]
            rss = [m.max_rss_kib for m in measurements if m.max_rss_kib is not None]
            cells = [
                contender.name,
                scenario,
                str(len(done)),
                _format_seconds(statistics.median(seconds)),
                f"{_format_seconds(min(seconds))}–{_format_seconds(max(seconds))}",
                format_bytes(int(statistics.median(transferred)))
                if transferred
                else "",
                str(max(layers)) if layers else "",
                str(int(statistics.median(changed))) if changed else "",
                f"{max(rss) / 1024:.0f} MiB" if rss else "",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _seconds(
    records: Sequence[RunRecord], contender: str, scenario: str
) -> list[float]:
    return [
        record.measurement.seconds
        for record in records
        if record.contender == contender
        and record.scenario == scenario
        and record.measurement is not None
    ]


def _time_cell(seconds: list[float]) -> str:
    median = _format_seconds(statistics.median(seconds))
    if len(seconds) == 1:
        return f"{median} s"
    return (
        f"{median} s ({_format_seconds(min(seconds))}–{_format_seconds(max(seconds))})"
    )


def _format_seconds(seconds: float) -> str:
    """Format seconds with one decimal, or two below one second."""
    return f"{seconds:.2f}" if seconds < 1 else f"{seconds:.1f}"


def format_bytes(count: int) -> str:
    """Format a byte count in decimal units, as BuildKit prints them."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _method_notes(pruned: bool) -> list[str]:
    if pruned:
        cold = (
            "- **cold**: every benchmark image is removed and the build cache "
            "pruned (`docker builder prune -af`) before the build."
        )
    else:
        cold = (
            "- **cold**: every benchmark image is removed before the build, but "
            "the build cache is kept (`--no-prune`), so these builds are not cold."
        )
    return [
        cold,
        "- **no change**: the same build again, right after the cold build.",
        "- **one file changed**: one line appended to one `.php` file of the "
        "middle component of the manifest.",
        "- **component added**: a new extension is written and listed in the "
        "manifest before `vendor`.",
        "- **compile only**: `flense compile` of the manifest to a file, no engine.",
        "- **floor**: `tar -c | tar -x` of the components with the manifest's "
        "excludes, into a fresh directory on the same disk; only a cold copy.",
        "- **transferred**: buildx's final `transferring context:` figure; "
        "flense's `N transferred` summary; the floor's tar stream size.",
        "- **layers changed**: layers of the image that the contender's "
        "previous image in the same round does not have.",
        "- **peak RSS**: `ru_maxrss` of the flense process (client side only; "
        "the engine's memory is not counted).",
        "- Page cache is not dropped between runs, so every contender reads "
        "a warm tree.",
        f"- Harness: `bench/run.py`, Python {sys.version.split()[0]}.",
    ]
