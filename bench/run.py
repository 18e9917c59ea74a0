"""Benchmark flense against the builds a user would pick instead.

``python bench/run.py --scale small|mediawiki|large [--runs N]
[--contenders NAME ...] [--output docs/benchmarks.md]`` generates a tree (or
uses ``--tree DIR``), then runs every contender through the scenarios cold,
no change, one file changed and component added (and compile only, for
flense), taking turns between contenders in each round. The results page is
printed and, with ``--output``, written to a file.

All builds go to the Docker Engine at /var/run/docker.sock (or
``DOCKER_HOST``), one at a time, from this one process.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import generate
from commands import CommandError, run_command
from contenders import (
    COLD,
    COMPILE,
    COMPONENT_ADDED,
    DEFAULT_IMAGE_PREFIX,
    DOCKER,
    FILE_CHANGED,
    NO_CHANGE,
    Buildx,
    Contender,
    Flense,
    FlenseOptions,
    Floor,
    Measurement,
)
from report import RunRecord, TreeDescription, machine_description, render
from tree import AddedSize, Tree

logger = logging.getLogger("bench")

# The flense contenders and the options each adds to `flense build` and
# `flense compile`. A contender whose options `flense build --help` does not
# list yet is reported as "not run".
FLENSE_CONTENDERS = (
    FlenseOptions(
        name="flense-2020",
        description="flense, 2020 design (one context, COPY chain)",
        options=("--assemble", "chain", "--single-context"),
    ),
    FlenseOptions(
        name="flense",
        description="flense default",
        options=(),
    ),
)

SCENARIO_ORDER = (COMPILE, COLD, NO_CHANGE, FILE_CHANGED, COMPONENT_ADDED)

ADDED_SIZES = {
    "small": AddedSize(files=40, total_bytes=200_000),
    "mediawiki": AddedSize(files=500, total_bytes=5_000_000),
    "large": AddedSize(files=500, total_bytes=5_000_000),
}


def make_contenders(
    flense_executable: str, image_prefix: str = DEFAULT_IMAGE_PREFIX
) -> list[Contender]:
    """Create every contender, in report order."""
    contenders: list[Contender] = [
        Floor(),
        Buildx(link=False, image_prefix=image_prefix),
        Buildx(link=True, image_prefix=image_prefix),
    ]
    contenders += [
        Flense(flense_executable, options, image_prefix)
        for options in FLENSE_CONTENDERS
    ]
    return contenders


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [contender.name for contender in make_contenders("flense")]
    parser = argparse.ArgumentParser(
        description="Benchmark flense against tar and docker buildx."
    )
    parser.add_argument("--scale", choices=sorted(generate.SCALES), default="small")
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the generated tree (default: 1)"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="rounds of every scenario (default: 3)"
    )
    parser.add_argument(
        "--contenders",
        nargs="+",
        choices=names,
        default=names,
        metavar="NAME",
        help=f"contenders to run, from {', '.join(names)} (default: all)",
    )
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="also write the results page here"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "flense-bench",
        metavar="DIR",
        help=(
            "directory for generated trees, Dockerfiles and the floor's copy "
            "(default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--tree",
        type=Path,
        metavar="DIR",
        help="benchmark this superproject instead of a generated one",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        metavar="FILE",
        help="manifest of --tree (default: DIR/.pipeline/manifest.yaml)",
    )
    parser.add_argument(
        "--flense",
        default=_default_flense(),
        metavar="PATH",
        help="flense executable (default: %(default)s)",
    )
    parser.add_argument(
        "--image-prefix",
        default=DEFAULT_IMAGE_PREFIX,
        metavar="NAME",
        help="repository prefix of the contenders' images (default: %(default)s)",
    )
    parser.add_argument(
        "--no-prune",
        dest="prune",
        action="store_false",
        help=(
            "skip `docker builder prune -af` before each cold build, so builds "
            "that share the engine keep their cache; the cold figures are then "
            "not cold"
        ),
    )
    parser.add_argument(
        "--keep-images",
        action="store_true",
        help="keep the benchmark images in the engine at the end",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each command")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give at least 1")
    if args.manifest and not args.tree:
        parser.error("--manifest needs --tree")
    return args


def _default_flense() -> str:
    beside_python = Path(sys.executable).parent / "flense"
    return str(beside_python) if beside_python.exists() else "flense"


def prepare_tree(args: argparse.Namespace) -> tuple[Tree, TreeDescription]:
    """Generate the tree of --scale and --seed, or reuse one generated before."""
    args.workdir.mkdir(parents=True, exist_ok=True)
    journal = args.workdir / "tree-edits.json"
    if args.tree:
        manifest = args.manifest or args.tree / generate.MANIFEST_PATH
        tree = Tree(args.tree, manifest, journal, args.seed)
        tree.reset()
        components = len(tree.load().components)
        return tree, TreeDescription(str(args.tree), components, None, None, "given")

    root = args.workdir / f"tree-{args.scale}-{args.seed}"
    stamp = root / ".pipeline" / "generated"
    tree = Tree(root, root / generate.MANIFEST_PATH, journal, args.seed)
    if stamp.exists():
        tree.reset()
        kept_files, kept_bytes, generation = stamp.read_text().split(maxsplit=2)
        generation = f"reused; {generation}"
    else:
        if root.exists():
            shutil.rmtree(root)
        journal.unlink(missing_ok=True)
        started = time.monotonic()
        stats = generate.generate(generate.SCALES[args.scale], args.seed, root)
        seconds = time.monotonic() - started
        generation = (
            f"`bench/generate.py --scale {args.scale} --seed {args.seed}` in "
            f"{seconds:.1f} s"
        )
        kept_files, kept_bytes = str(stats.kept_files), str(stats.kept_bytes)
        stamp.write_text(f"{kept_files} {kept_bytes} {generation}")
        logger.info(generate.format_stats(stats, seconds))
    description = TreeDescription(
        label=f"generated, scale {args.scale}, seed {args.seed}",
        components=len(tree.load().components),
        kept_files=int(kept_files),
        kept_bytes=int(kept_bytes),
        generation=generation,
    )
    return tree, description


def reset_engine(images: Sequence[str], prune: bool) -> None:
    """Remove the benchmark images and, with ``prune``, the whole build cache.

    Raises CommandError when the prune fails.
    """
    if images:
        run_command([DOCKER, "image", "rm", "--force", *images])
    if prune:
        run_command([DOCKER, "builder", "prune", "--all", "--force"]).check()


def run_round(
    contender: Contender,
    tree: Tree,
    workdir: Path,
    round_number: int,
    images: Sequence[str],
    added_size: AddedSize,
    prune: bool,
) -> list[RunRecord]:
    """Run every scenario of one contender once, from a cold start."""
    records: list[RunRecord] = []
    previous_layers: tuple[str, ...] | None = None
    tree.reset()
    try:
        for scenario in SCENARIO_ORDER:
            if scenario not in contender.scenarios:
                continue
            if scenario == COLD:
                try:
                    reset_engine(images, prune)
                except CommandError as error:
                    logger.warning("%s, %s: %s", contender.name, scenario, error)
                    records.append(
                        RunRecord(
                            contender.name,
                            scenario,
                            round_number,
                            None,
                            None,
                            str(error),
                        )
                    )
                    break
            elif scenario == FILE_CHANGED:
                tree.change_one_file(f"round {round_number + 1}")
            elif scenario == COMPONENT_ADDED:
                tree.add_component(added_size)
            manifest = tree.load()
            contender.prepare(manifest, workdir)
            result = contender.run(manifest, scenario)
            if result.returncode != 0 and _is_missing_snapshot(result.stderr):
                logger.warning(
                    "%s, %s: the engine lost a cached snapshot; retrying once",
                    contender.name,
                    scenario,
                )
                result = contender.run(manifest, scenario)
            if result.returncode != 0:
                error = str(CommandError(result))
                logger.warning("%s, %s: %s", contender.name, scenario, error)
                records.append(
                    RunRecord(contender.name, scenario, round_number, None, None, error)
                )
                # The scenarios after a failed one build on its result.
                break
            measurement = contender.measure(result, scenario)
            changed = _layers_changed(previous_layers, measurement)
            if measurement.layers is not None and scenario != COMPILE:
                previous_layers = measurement.layers
            records.append(
                RunRecord(contender.name, scenario, round_number, measurement, changed)
            )
            logger.info(
                "round %d, %s, %s: %.1f s",
                round_number + 1,
                contender.name,
                scenario,
                measurement.seconds,
            )
    finally:
        tree.reset()
    return records


RESULTS_START = "<!-- bench/run.py results: start -->"
RESULTS_END = "<!-- bench/run.py results: end -->"


def _replace_section(path: Path, page: str) -> str:
    """Put ``page`` between the results markers of ``path``, keeping the rest.

    A file without the markers, or no file, gets the page alone, inside the
    markers, so that other sections written by hand survive the next run.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return f"{RESULTS_START}\n{page.rstrip()}\n{RESULTS_END}\n"
    # Inside a page of its own, the results sit one heading level lower.
    demoted = "\n".join(
        "#" + line if line.startswith("#") else line for line in page.splitlines()
    )
    section = f"{RESULTS_START}\n{demoted.rstrip()}\n{RESULTS_END}\n"
    start, end = text.find(RESULTS_START), text.find(RESULTS_END)
    if start == -1 or end < start:
        return section + "\n" + text
    return text[:start] + section + text[end + len(RESULTS_END) :].lstrip("\n")


def _is_missing_snapshot(stderr: str) -> bool:
    # dockerd 26.1 with the containerd image store sometimes fails a build
    # whose cache refers to layers of a removed image ("parent snapshot ...
    # does not exist: not found"); building again extracts them anew.
    return "parent snapshot" in stderr and "does not exist" in stderr


def _layers_changed(
    previous: tuple[str, ...] | None, measurement: Measurement
) -> int | None:
    if previous is None or measurement.layers is None:
        return None
    return len(set(measurement.layers) - set(previous))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="bench: %(message)s",
    )
    command = "python bench/run.py " + shlex.join(
        sys.argv[1:] if argv is None else list(argv)
    )
    tree, tree_description = prepare_tree(args)
    manifest = tree.load()

    contenders = [
        contender
        for contender in make_contenders(args.flense, args.image_prefix)
        if contender.name in args.contenders
    ]
    skipped: dict[str, str] = {}
    for contender in contenders:
        reason = contender.unavailable_reason(manifest)
        if reason:
            skipped[contender.name] = reason
            logger.info("%s: not run, because %s", contender.name, reason)
    active = [contender for contender in contenders if contender.name not in skipped]
    images = [contender.image for contender in contenders if contender.image]

    records: list[RunRecord] = []
    for round_number in range(args.runs):
        # Rotate the order each round so no contender always runs first
        # after a prune or right after the tree was written.
        shift = round_number % max(1, len(active))
        for contender in active[shift:] + active[:shift]:
            records += run_round(
                contender,
                tree,
                args.workdir,
                round_number,
                images,
                ADDED_SIZES[args.scale],
                args.prune,
            )

    if not args.keep_images and images:
        run_command([DOCKER, "image", "rm", "--force", *images])
    floor_copy = args.workdir / "floor-copy"
    if floor_copy.exists():
        shutil.rmtree(floor_copy)

    scenarios = [
        scenario
        for scenario in SCENARIO_ORDER
        if any(scenario in contender.scenarios for contender in contenders)
    ]
    page = render(
        command=command,
        date=datetime.date.today().isoformat(),
        machine=machine_description(args.workdir),
        tree=tree_description,
        contenders=contenders,
        scenarios=scenarios,
        records=records,
        skipped=skipped,
        runs=args.runs,
        pruned=args.prune,
    )
    print(page)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(_replace_section(args.output, page))
    return 1 if any(record.error for record in records) else 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
