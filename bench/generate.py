"""Generate a deterministic superproject shaped like a MediaWiki deployment.

``python bench/generate.py --scale small|mediawiki|large --seed N DEST`` writes
MediaWiki core (``mediawiki/``), ``vendor/``, ``extensions/*`` and ``skins/*``
under DEST, plus ``.pipeline/manifest.yaml`` that builds them into
``/srv/mediawiki``. Each component also gets content that the manifest
excludes: a ``.git`` directory with the files of a real clone (but random
bytes), and in some components ``docs/`` and ``node_modules/`` trees.

The same scale and seed always give byte-identical files. Modification times
are whatever the file system records when the files are written.

The shape (files per component, file-size spread, files per directory,
directory depth) follows the measurements of a real tree in bench/README.md.
File contents are slices of two seeded pools, one of random bytes and one
of PHP-like text, behind a header line that names the file, so no two files
of more than a few bytes are equal.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MANIFEST_PATH = Path(".pipeline/manifest.yaml")
IMAGE_ROOT = "/srv/mediawiki"
EXCLUDES = (".git", "**/node_modules", "docs")

# Largest generated file. The largest files of the measured tree are 1.6 MiB
# (core), 3.3 MiB (an extension) and 3.7 MiB (vendor).
MAX_FILE_SIZE = 4 * 2**20

_POOL_SIZE = 16 * 2**20
_TEXT_POOL_SIZE = 4 * 2**20
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL
_CLIMB = 0.3


@dataclass(frozen=True)
class Scale:
    """Target sizes of one scale. Byte counts are of the files the manifest keeps."""

    name: str
    core_files: int
    core_bytes: int
    vendor_files: int
    vendor_bytes: int
    extensions: int
    skins: int
    extra_files: int
    extra_bytes: int
    min_component_files: int
    max_component_files: int


SCALES = {
    scale.name: scale
    for scale in (
        # CI smoke test: a few hundred files, written in well under a second.
        Scale("small", 150, 1_200_000, 100, 900_000, 4, 1, 250, 1_500_000, 30, 80),
        # The reference tree: core, vendor, 31 extensions and 2 skins, 57k kept
        # files and 689 MiB.
        Scale(
            "mediawiki",
            12_000,
            190_000_000,
            8_000,
            190_000_000,
            31,
            2,
            37_000,
            342_000_000,
            200,
            8_000,
        ),
        # 2,000 components and 1M files, for compile, transfer and memory
        # figures. NOTE: its extensions keep the file count of a large
        # deployment but a mean file size of 5 kB instead of the measured 9 kB,
        # so the tree stays near 5.4 GB.
        Scale(
            "large",
            12_000,
            190_000_000,
            8_000,
            190_000_000,
            1_900,
            98,
            980_000,
            5_000_000_000,
            50,
            8_000,
        ),
    )
}


@dataclass(frozen=True)
class ComponentSpec:
    """Shape of one generated component: path, file count, bytes and layout."""

    path: str
    files: int
    total_bytes: int
    size_sigma: float
    files_per_directory: float
    max_depth: int
    has_docs: bool
    has_node_modules: bool


@dataclass
class TreeStats:
    """Counts of what a generator run wrote, split by the manifest's excludes."""

    components: int = 0
    kept_files: int = 0
    kept_bytes: int = 0
    excluded_files: int = 0
    excluded_bytes: int = 0
    directories: int = 0

    def add(self, other: TreeStats) -> None:
        self.components += other.components
        self.kept_files += other.kept_files
        self.kept_bytes += other.kept_bytes
        self.excluded_files += other.excluded_files
        self.excluded_bytes += other.excluded_bytes
        self.directories += other.directories


@dataclass(frozen=True)
class Pools:
    """Content pools that file bodies are sliced from."""

    binary: bytes
    text: bytes


# Filled in the parent before the worker processes fork, so every worker
# shares one copy of the pools.
_pools: Pools | None = None

_WORDS = (  # noqa: SIM905 (a word list reads better as text than as 170 lines)
    "abuse action actor address agent alias api archive article attribute "
    "audit auth autoload backend batch block bot bundle cache callback "
    "category change channel check citation client codec collection comment "
    "config content context converter counter cron data database date debug "
    "deferred delete diff dispatch document dump edit editor entity event "
    "exception export factory feed field file filter format gallery handler "
    "hash header history hook html http image import index info installer "
    "interwiki job json language link list loader lock log lookup mail "
    "maintenance manager map markup media message metadata migration module "
    "namespace notification object output page pager parser password patrol "
    "permission pool preference preview profile property protect provider "
    "query queue rate reader recent redirect reference registry render "
    "request resource response rest revision role route rule sanitizer "
    "schema search section service session setting signature site skin slot "
    "special sql stash status storage store style tag task template title "
    "token tool tracker transform upload user util validator value view "
    "watchlist widget wiki writer"
).split()

_TEXT_EXTENSIONS = ("php", "php", "php", "php", "js", "js", "json", "less", "css")
_OTHER_EXTENSIONS = ("svg", "png", "md", "txt", "yaml", "xml")


def component_specs(scale: Scale, seed: int) -> list[ComponentSpec]:
    """Draw the components of a scale: core, extensions, skins, vendor."""
    rng = random.Random(f"{seed}/{scale.name}/components")
    # Each size_sigma is fitted to a measured component's mean-to-median
    # ratio (mean = median * exp(sigma**2 / 2)): core 8.4, vendor 10, the
    # extensions 2 to 17.
    core = ComponentSpec(
        path="mediawiki",
        files=scale.core_files,
        total_bytes=scale.core_bytes,
        size_sigma=2.05,
        files_per_directory=17,
        max_depth=8,
        has_docs=True,
        has_node_modules=True,
    )
    vendor = ComponentSpec(
        path="vendor",
        files=scale.vendor_files,
        total_bytes=scale.vendor_bytes,
        size_sigma=2.15,
        files_per_directory=7,
        max_depth=9,
        has_docs=False,
        has_node_modules=False,
    )
    specs = [core]
    names = _component_names(rng, scale.extensions + scale.skins)
    paths = [f"extensions/{name}" for name in names[: scale.extensions]]
    paths += [f"skins/{name}" for name in names[scale.extensions :]]
    counts = _spread(
        rng,
        len(paths),
        scale.extra_files,
        scale.min_component_files,
        scale.max_component_files,
    )

    # A component's mean file size varies about fourfold around the scale's
    # mean (the measured extensions range from 1.8 kB to 42 kB).
    weights = [count * math.exp(rng.gauss(0, 0.7)) for count in counts]
    total_weight = sum(weights)
    for path, count, weight in zip(paths, counts, weights, strict=True):
        specs.append(
            ComponentSpec(
                path=path,
                files=count,
                total_bytes=int(scale.extra_bytes * weight / total_weight),
                size_sigma=rng.uniform(1.2, 2.4),
                files_per_directory=rng.uniform(8, 20),
                max_depth=rng.randint(4, 7),
                has_docs=rng.random() < 0.4,
                has_node_modules=rng.random() < 0.25,
            )
        )
    specs.append(vendor)
    return specs


def _component_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        parts = rng.sample(_WORDS, rng.randint(1, 3))
        name = "".join(part.capitalize() for part in parts)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _spread(
    rng: random.Random, count: int, total: int, low: int, high: int
) -> list[int]:
    """Split ``total`` into ``count`` log-normally spread parts in [low, high]."""
    weights = [math.exp(rng.gauss(0, 0.95)) for _ in range(count)]
    scale = total / sum(weights)
    parts = [min(high, max(low, round(weight * scale))) for weight in weights]

    # Clamping moved the sum away from the total. Hand the difference out one
    # file at a time, largest parts first, within the bounds.
    order = sorted(range(count), key=lambda index: -parts[index])
    difference = total - sum(parts)
    step = 1 if difference > 0 else -1
    while difference:
        moved = False
        for index in order:
            if difference == 0:
                break
            if low <= parts[index] + step <= high:
                parts[index] += step
                difference -= step
                moved = True
        if not moved:
            break
    return parts


def make_pools(seed: int) -> Pools:
    """Build the binary and text pools of a seed."""
    rng = random.Random(f"{seed}/pools")
    binary = rng.randbytes(_POOL_SIZE)
    lines: list[str] = []
    size = 0
    while size < _TEXT_POOL_SIZE:
        first, second, third = rng.sample(_WORDS, 3)
        match rng.randrange(4):
            case 0:
                line = (
                    f"\tpublic function {first}{second.capitalize()}( ${third} ) {{\n"
                )
            case 1:
                line = f"\t\t$this->{first} = ${second}->get{third.capitalize()}();\n"
            case 2:
                line = f"\t\treturn $this->{first}[ '{second}-{third}' ] ?? null;\n"
            case _:
                line = f"\t// The {first} {second} of this {third}.\n"
        lines.append(line)
        size += len(line)
    return Pools(binary=binary, text="".join(lines).encode())


def write_component(root: Path, spec: ComponentSpec, seed: int) -> TreeStats:
    """Write one component under ``root`` and return what was written."""
    assert _pools is not None, "call make_pools and set bench.generate._pools first"
    rng = random.Random(f"{seed}/{spec.path}")
    base = root / spec.path
    stats = TreeStats(components=1)

    directories = _directory_tree(rng, spec)
    for directory in directories:
        (base / directory).mkdir(parents=True, exist_ok=True)
    stats.directories += len(directories)

    sizes = _file_sizes(rng, spec.files, spec.total_bytes, spec.size_sigma)
    names_used: set[str] = set()
    i18n = [d for d in directories if d.endswith("i18n")]
    for size in sizes:
        if i18n and rng.random() < 0.15:
            directory = i18n[0]
            name = _language_code(rng) + ".json"
        else:
            directory = directories[rng.randrange(len(directories))]
            name = _file_name(rng)
        relative = _unique(f"{directory}/{name}" if directory else name, names_used)
        _write_file(base / relative, f"{spec.path}/{relative}", size, rng)
        stats.kept_files += 1
        stats.kept_bytes += size

    excluded = _write_git_directory(base, spec, rng)
    if spec.has_docs:
        excluded.extend(_write_docs(base, spec, rng))
    if spec.has_node_modules:
        packages = min(30, max(2, spec.files // 100))
        node_modules = base / "node_modules"
        excluded.extend(_write_node_modules(node_modules, spec, rng, 2, packages))
        if rng.random() < 0.3:
            nested = (
                base / directories[rng.randrange(len(directories))] / "node_modules"
            )
            excluded.extend(_write_node_modules(nested, spec, rng, 1, 3))
    stats.excluded_files += len(excluded)
    stats.excluded_bytes += sum(excluded)
    return stats


def _directory_tree(rng: random.Random, spec: ComponentSpec) -> list[str]:
    """Draw a random tree of directories, the root ("") first.

    Each new directory hangs off a random existing one, moved up towards the
    root with probability ``_CLIMB`` per level, which keeps the median depth
    near the measured 2 to 5 levels.
    """
    count = max(1, round(spec.files / spec.files_per_directory))
    directories = [""]
    depths = [0]
    parents = [0]
    children: dict[str, set[str]] = {"": set()}
    if spec.path != "vendor":
        directories.append("i18n")
        depths.append(1)
        parents.append(0)
        children[""].add("i18n")
        children["i18n"] = set()
    while len(directories) < count:
        index = rng.randrange(len(directories))
        while index and rng.random() < _CLIMB:
            index = parents[index]
        if depths[index] >= spec.max_depth - 1:
            continue
        parent = directories[index]
        name = rng.choice(_WORDS)
        if depths[index] >= 2:
            name = name + rng.choice(_WORDS).capitalize()
        if name in children[parent] or name in ("docs", "node_modules", ".git"):
            continue
        path = f"{parent}/{name}" if parent else name
        children[parent].add(name)
        children[path] = set()
        directories.append(path)
        depths.append(depths[index] + 1)
        parents.append(index)
    return directories


def _file_sizes(rng: random.Random, count: int, total: int, sigma: float) -> list[int]:
    """Draw ``count`` log-normal file sizes that add up to about ``total``."""
    raw = [rng.lognormvariate(0, sigma) for _ in range(count)]
    scale = total / sum(raw)
    sizes = [min(MAX_FILE_SIZE, int(value * scale)) for value in raw]

    # Files cut to MAX_FILE_SIZE lost bytes; scale the others up once to
    # make up for them.
    capped = sum(size for size in sizes if size == MAX_FILE_SIZE)
    rest = sum(size for size in sizes if size < MAX_FILE_SIZE)
    if rest and capped:
        factor = (total - capped) / rest
        sizes = [
            size if size == MAX_FILE_SIZE else min(MAX_FILE_SIZE, int(size * factor))
            for size in sizes
        ]
    return sizes


def _file_name(rng: random.Random) -> str:
    words = rng.sample(_WORDS, rng.randint(1, 3))
    stem = "".join(word.capitalize() for word in words)
    if rng.random() < 0.9:
        extension = rng.choice(_TEXT_EXTENSIONS)
    else:
        extension = rng.choice(_OTHER_EXTENSIONS)
    return f"{stem}.{extension}"


def _language_code(rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    code = "".join(rng.choice(letters) for _ in range(rng.choice((2, 2, 3))))
    if rng.random() < 0.1:
        code += "-" + "".join(rng.choice(letters) for _ in range(rng.choice((2, 4))))
    return code


def _unique(path: str, used: set[str]) -> str:
    candidate = path
    number = 1
    while candidate in used:
        stem, dot, extension = path.rpartition(".")
        candidate = f"{stem}{number}{dot}{extension}"
        number += 1
    used.add(candidate)
    return candidate


def _write_file(path: Path, label: str, size: int, rng: random.Random) -> None:
    """Write ``size`` bytes: a header naming the file, then a pool slice."""
    assert _pools is not None
    text = not path.name.endswith((".png", ".svg"))
    pool = _pools.text if text else _pools.binary
    header = f"<?php // {label}\n".encode() if text else f"{label}\n".encode()
    header = header[:size]
    body_size = size - len(header)
    offset = rng.randrange(len(pool) - body_size + 1)
    descriptor = os.open(path, _WRITE_FLAGS, 0o644)
    try:
        _write_all(descriptor, header)
        _write_all(descriptor, memoryview(pool)[offset : offset + body_size])
    finally:
        os.close(descriptor)


def _write_all(descriptor: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _write_git_directory(
    base: Path, spec: ComponentSpec, rng: random.Random
) -> list[int]:
    """Write the files of a packed clone's ``.git``, with random contents.

    Returns the sizes written. The pack is 8 % of the component's bytes (at
    most 16 MiB) and the index about 72 bytes per file, as in real clones.
    """
    git = base / ".git"
    for directory in (
        "hooks",
        "info",
        "logs/refs/heads",
        "objects/pack",
        "objects/info",
        "refs/heads",
        "refs/tags",
        "refs/remotes/origin",
    ):
        (git / directory).mkdir(parents=True, exist_ok=True)
    commit = rng.randbytes(20).hex()
    pack = rng.randbytes(20).hex()
    small_files = {
        "HEAD": b"ref: refs/heads/master\n",
        "config": (
            b"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n"
            b"\tbare = false\n"
            b'[remote "origin"]\n\turl = https://gerrit.wikimedia.org/r/'
            + spec.path.encode()
            + b"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
        ),
        "description": b"Unnamed repository; edit this file to name it.\n",
        "packed-refs": f"# pack-refs with: peeled fully-peeled sorted\n{commit} "
        "refs/remotes/origin/master\n".encode(),
        "refs/heads/master": f"{commit}\n".encode(),
        "logs/HEAD": (
            f"{'0' * 40} {commit} Bench <bench@example.org> 0 +0000\tclone\n"
        ).encode(),
        "info/exclude": b"# git ls-files --others --exclude-from=.git/info/exclude\n",
    }
    sizes: list[int] = []
    for name, content in small_files.items():
        (git / name).write_bytes(content)
        sizes.append(len(content))
    for hook in ("pre-commit", "pre-push", "commit-msg", "post-update", "update"):
        size = rng.randint(400, 4000)
        _write_file(
            git / "hooks" / f"{hook}.sample",
            f"{spec.path}/.git/hooks/{hook}",
            size,
            rng,
        )
        sizes.append(size)
    binary_files = {
        "index": 12 + 72 * spec.files,
        f"objects/pack/pack-{pack}.pack": min(16 * 2**20, spec.total_bytes // 12),
        f"objects/pack/pack-{pack}.idx": 1072 + 28 * spec.files,
    }
    for name, size in binary_files.items():
        _write_binary(git / name, size, rng)
        sizes.append(size)
    return sizes


def _write_binary(path: Path, size: int, rng: random.Random) -> None:
    assert _pools is not None
    size = min(size, len(_pools.binary))
    offset = rng.randrange(len(_pools.binary) - size + 1)
    descriptor = os.open(path, _WRITE_FLAGS, 0o644)
    try:
        _write_all(descriptor, memoryview(_pools.binary)[offset : offset + size])
    finally:
        os.close(descriptor)


def _write_docs(base: Path, spec: ComponentSpec, rng: random.Random) -> list[int]:
    docs = base / "docs"
    docs.mkdir()
    sizes: list[int] = []
    for number in range(rng.randint(3, 20)):
        name = f"{rng.choice(_WORDS)}{number}.{rng.choice(('md', 'txt', 'md'))}"
        size = int(rng.lognormvariate(8, 1))
        _write_file(docs / name, f"{spec.path}/docs/{name}", size, rng)
        sizes.append(size)
    return sizes


def _write_node_modules(
    directory: Path, spec: ComponentSpec, rng: random.Random, low: int, high: int
) -> list[int]:
    """Write ``low`` to ``high`` npm packages of a few small files each."""
    sizes: list[int] = []
    for package in rng.sample(_WORDS, rng.randint(low, high)):
        package_dir = directory / f"{package}-js"
        (package_dir / "lib").mkdir(parents=True, exist_ok=True)
        names = ["package.json", "README.md", "index.js"]
        names += [f"lib/{word}.js" for word in rng.sample(_WORDS, rng.randint(2, 20))]
        for name in names:
            size = int(rng.lognormvariate(7.5, 1.2))
            label = f"{spec.path}/node_modules/{package}-js/{name}"
            _write_file(package_dir / name, label, size, rng)
            sizes.append(size)
    return sizes


def manifest_text(paths: Iterable[str], comment: str) -> str:
    """Render the manifest: core at the image root, every other path as is."""
    lines = [f"# {comment}", "destination:", f"  root: {IMAGE_ROOT}", "  exclude:"]
    lines += [f'    - "{pattern}"' for pattern in EXCLUDES]
    lines += ["defaults:", "  builder: copy", "components:"]
    for path in paths:
        if path == "mediawiki":
            lines += ["  - source: mediawiki", "    destination: ."]
        else:
            lines.append(f"  - {path}")
    return "\n".join(lines) + "\n"


def _write_one(job: tuple[Path, ComponentSpec, int]) -> TreeStats:
    root, spec, seed = job
    return write_component(root, spec, seed)


def generate(scale: Scale, seed: int, dest: Path, jobs: int | None = None) -> TreeStats:
    """Write the whole tree of ``scale`` and ``seed`` into the empty ``dest``."""
    global _pools
    _pools = make_pools(seed)
    specs = component_specs(scale, seed)
    dest.mkdir(parents=True, exist_ok=True)

    # Components are independent, so they are written in parallel, largest
    # first so that the last worker is not left with the core alone.
    work = [(dest, spec, seed) for spec in sorted(specs, key=lambda s: -s.total_bytes)]
    stats = TreeStats()
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(work) < 4:
        results = [_write_one(job) for job in work]
    else:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            results = pool.map(_write_one, work, chunksize=1 if len(work) < 200 else 8)
    for result in results:
        stats.add(result)

    manifest = dest / MANIFEST_PATH
    manifest.parent.mkdir(parents=True, exist_ok=True)
    comment = f"generated by bench/generate.py --scale {scale.name} --seed {seed}"
    manifest.write_text(manifest_text((spec.path for spec in specs), comment))
    return stats


def add_component(
    dest: Path,
    path: str,
    files: int,
    total_bytes: int,
    seed: int,
    *,
    manifest: Path | None = None,
) -> TreeStats:
    """Write one more copy component into ``dest`` and list it in the
    manifest (default: DEST/.pipeline/manifest.yaml), before ``vendor``."""
    global _pools
    if _pools is None:
        _pools = make_pools(seed)
    spec = ComponentSpec(
        path=path,
        files=files,
        total_bytes=total_bytes,
        size_sigma=1.5,
        files_per_directory=12,
        max_depth=6,
        has_docs=False,
        has_node_modules=False,
    )
    stats = write_component(dest, spec, seed)
    manifest = manifest or dest / MANIFEST_PATH
    text = manifest.read_text()
    marker = "  - vendor\n"
    if marker not in text:
        raise ValueError(f"{manifest}: no '- vendor' component to add {path} before")
    manifest.write_text(text.replace(marker, f"  - {path}\n{marker}"))
    return stats


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the generator (default: 1)"
    )
    parser.add_argument(
        "--jobs", type=int, help="worker processes (default: the number of CPUs)"
    )
    parser.add_argument(
        "--force", action="store_true", help="delete DEST first if it exists"
    )
    parser.add_argument("dest", type=Path, metavar="DEST", help="directory to create")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.dest.exists() and any(args.dest.iterdir()):
        if not args.force:
            print(
                f"generate.py: error: {args.dest} is not empty; "
                "pass --force to replace it",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(args.dest)
    started = time.monotonic()
    stats = generate(SCALES[args.scale], args.seed, args.dest, args.jobs)
    print(format_stats(stats, time.monotonic() - started))
    return 0


def format_stats(stats: TreeStats, seconds: float) -> str:
    """Summarize a generator run in one line."""
    return (
        f"{stats.components} components, {stats.kept_files} files "
        f"({stats.kept_bytes / 2**20:.1f} MiB) kept, {stats.excluded_files} files "
        f"({stats.excluded_bytes / 2**20:.1f} MiB) excluded, "
        f"{stats.directories} directories, in {seconds:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
