"""Time the file transfer of flense against buildx's Go sender on one tree.

``python bench/transfer.py --tree DIR [--runs N] [--contenders flense buildx]
[--baseline SRC] [--py-spy DIR]`` builds the tree twice per round and
contender: cold, from a fresh copy of the tree at a new path, and again with
no change. ``--baseline SRC`` adds the contender ``flense-baseline``: flense
with its package imported from SRC, the ``src`` directory of another
checkout, to compare two versions on the same engine in turns.

A new path gives a new session shared key to both flense and buildx, so the
daemon has no previous copy of the directory and requests every file. The
build cache is not pruned, because other builds may share the engine. The
image layers of the cold build are still new, because the copies' cache keys
depend on the shared key, so the cold figure includes the export. The
transfer figure is the largest ``transferring context: N Ts done`` time in
the progress output: the end of the last transfer, counted from the start of
its step.

The copy is made with ``cp -a`` and read once before the cold build, so the
page cache is warm for every contender.

With ``--py-spy DIR`` each flense run is recorded by py-spy in raw
(collapsed stack) format, idle frames left out, in
``DIR/flense-<scenario>-<round>.txt``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from commands import CommandResult, run_command
from contenders import DOCKER, dockerfile_text, dockerignore_text

from flense.manifest import Manifest, load_manifest

logger = logging.getLogger("bench.transfer")

MANIFEST_PATH = Path(".pipeline/manifest.yaml")
CONTENDERS = ("flense", "buildx")
BASELINE = "flense-baseline"
COLD = "cold"
NO_CHANGE = "no change"
_TRANSFER_DONE = re.compile(
    r"^#\d+ transferring context: [0-9.]+\s*[kMG]?B ([0-9.]+)s done", re.MULTILINE
)


@dataclass(frozen=True)
class Sample:
    """One timed build."""

    contender: str
    scenario: str
    round: int
    seconds: float
    transfer_seconds: float | None
    # User and system CPU time of the client process (flense or the docker
    # CLI, which runs buildx's Go sender) and its children.
    cpu_seconds: float
    max_rss_kib: int | None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s")
    args.workdir.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for round_number in range(args.runs):
        order = list(args.contenders)
        shift = round_number % len(order)
        for contender in order[shift:] + order[:shift]:
            samples += run_round(args, contender, round_number)
    print(render(samples, args))
    return 0


def run_round(
    args: argparse.Namespace, contender: str, round_number: int
) -> list[Sample]:
    """Build a fresh copy of the tree cold and then with no change."""
    copy = args.workdir / f"copy-{os.getpid()}-{round_number}-{contender}"
    if copy.exists():
        shutil.rmtree(copy)
    subprocess.run(["cp", "-a", str(args.tree), str(copy)], check=True)
    subprocess.run(["tar", "-cf", "/dev/null", "-C", str(copy), "."], check=True)
    samples = []
    try:
        manifest = load_manifest(copy / MANIFEST_PATH, context=copy)
        for scenario in (COLD, NO_CHANGE):
            cpu_before = _children_cpu_seconds()
            if contender == "flense":
                result = run_flense(args, copy, scenario, round_number)
                rss: int | None = result.max_rss_kib
            elif contender == BASELINE:
                result = run_flense(
                    args, copy, scenario, round_number, pythonpath=args.baseline
                )
                rss = result.max_rss_kib
            else:
                result = run_buildx(args, manifest, copy)
                rss = None
            if result.returncode != 0:
                logger.error(
                    "%s, %s failed: %s",
                    contender,
                    scenario,
                    (result.stderr or result.stdout)[-2000:],
                )
                break
            sample = Sample(
                contender,
                scenario,
                round_number,
                result.seconds,
                transfer_seconds(result.stdout + result.stderr),
                _children_cpu_seconds() - cpu_before,
                rss,
            )
            logger.info("%s", sample)
            samples.append(sample)
    finally:
        shutil.rmtree(copy)
    return samples


def run_flense(
    args: argparse.Namespace,
    copy: Path,
    scenario: str,
    round_number: int,
    pythonpath: Path | None = None,
) -> CommandResult:
    argv = [
        args.flense,
        "build",
        str(copy / MANIFEST_PATH),
        "--context",
        str(copy),
        "--tag",
        f"{args.image_prefix}/flense:latest",
        "--progress",
        "plain",
    ]
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
        name = scenario.replace(" ", "-")
        prefix = "flense-baseline" if pythonpath else "flense"
        output = args.py_spy / f"{prefix}-{name}-{round_number}.txt"
        argv = [
            args.py_spy_bin,
            "record",
            "--nonblocking",
            "-f",
            "raw",
            "-o",
            str(output),
            "--",
            *argv,
        ]
    if pythonpath is None:
        return run_command(argv)
    # PYTHONPATH comes before the venv's editable install on sys.path.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(pythonpath)
    try:
        return run_command(argv)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


def run_buildx(
    args: argparse.Namespace, manifest: Manifest, copy: Path
) -> CommandResult:
    directory = args.workdir / "buildx"
    directory.mkdir(parents=True, exist_ok=True)
    dockerfile = directory / "Dockerfile"
    dockerfile.write_text(dockerfile_text(manifest, link=False))
    # The frontend reads <Dockerfile>.dockerignore beside the Dockerfile.
    (directory / "Dockerfile.dockerignore").write_text(dockerignore_text(manifest))
    return run_command(
        [
            DOCKER,
            "buildx",
            "build",
            "--progress",
            "plain",
            "--file",
            str(dockerfile),
            "--output",
            f"type=image,name={args.image_prefix}/buildx:latest",
            str(copy),
        ]
    )


def _children_cpu_seconds() -> float:
    """Return the CPU time of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def transfer_seconds(progress: str) -> float | None:
    """Return the largest ``transferring context: ... Ts done`` time."""
    times = [float(match) for match in _TRANSFER_DONE.findall(progress)]
    return max(times) if times else None


def render(samples: Sequence[Sample], args: argparse.Namespace) -> str:
    """Render medians per contender and scenario as a markdown table."""
    lines = [
        f"`python bench/transfer.py {shlex.join(args.argv)}`, "
        f"{args.runs} rounds, medians (min to max)",
        "",
        "| contender | scenario | wall time | transfer | client CPU | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for contender in args.contenders:
        for scenario in (COLD, NO_CHANGE):
            group = [
                sample
                for sample in samples
                if sample.contender == contender and sample.scenario == scenario
            ]
            if not group:
                lines.append(f"| {contender} | {scenario} | failed | | | |")
                continue
            wall = _spread([sample.seconds for sample in group], "s")
            transfer = _spread(
                [s.transfer_seconds for s in group if s.transfer_seconds is not None],
                "s",
            )
            cpu = _spread([sample.cpu_seconds for sample in group], "s")
            rss = _spread(
                [s.max_rss_kib / 1024 for s in group if s.max_rss_kib is not None],
                "MiB",
            )
            lines.append(
                f"| {contender} | {scenario} | {wall} | {transfer} | {cpu} | {rss} |"
            )
    return "\n".join(lines)


def _spread(values: Sequence[float], unit: str) -> str:
    if not values:
        return ""
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.1f} {unit}"
    return f"{median:.1f} {unit} ({min(values):.1f} to {max(values):.1f})"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time flense's file transfer against buildx's on one tree."
    )
    parser.add_argument(
        "--tree",
        type=Path,
        required=True,
        metavar="DIR",
        help="superproject with .pipeline/manifest.yaml, e.g. from generate.py",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="rounds (default: %(default)s)"
    )
    parser.add_argument(
        "--contenders",
        nargs="+",
        choices=(*CONTENDERS, BASELINE),
        default=list(CONTENDERS),
        metavar="NAME",
        help=(
            "flense, buildx and flense-baseline, which needs --baseline "
            "(default: flense and buildx, and flense-baseline with --baseline)"
        ),
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="directory for the copies, on the tree's file system "
        "(default: the tree's parent directory)",
    )
    parser.add_argument(
        "--flense",
        default=str(Path(sys.executable).parent / "flense"),
        metavar="PATH",
        help="flense executable (default: %(default)s)",
    )
    parser.add_argument(
        "--image-prefix",
        default="flense-transfer-bench",
        metavar="NAME",
        help="repository prefix of the images (default: %(default)s)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="SRC",
        help="also time flense imported from SRC, another checkout's src directory",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record each flense run with py-spy into this directory",
    )
    parser.add_argument(
        "--py-spy-bin",
        default=str(Path(sys.executable).parent / "py-spy"),
        metavar="PATH",
        help="py-spy executable (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give at least 1")
    if args.baseline and BASELINE not in args.contenders:
        args.contenders.append(BASELINE)
    if BASELINE in args.contenders and not args.baseline:
        parser.error(f"--contenders {BASELINE} needs --baseline SRC")
    args.tree = args.tree.resolve()
    if not (args.tree / MANIFEST_PATH).is_file():
        parser.error(f"--tree {args.tree}: {MANIFEST_PATH} not found in it")
    # cp -al needs the copy on the tree's file system.
    args.workdir = (args.workdir or args.tree.parent).resolve()
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
