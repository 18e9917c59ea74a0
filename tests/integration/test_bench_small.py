"""Smoke test of the benchmark harness and generator at the small scale.

Timings are never checked: only that the commands run, the trees are
reproducible and the results page has a row for every contender.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
CONTENDERS = ("floor", "buildx-chain", "buildx-link")


def _tree_digest(root: Path) -> str:
    """Hash every path and file content under ``root``, in sorted order."""
    digest = hashlib.sha256()
    for directory, subdirectories, filenames in os.walk(root):
        subdirectories.sort()
        for filename in sorted(filenames):
            path = Path(directory, filename)
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _generate(dest: Path, seed: int) -> None:
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "generate.py"),
            "--scale",
            "small",
            "--seed",
            str(seed),
            str(dest),
        ],
        check=True,
        capture_output=True,
    )


def test_generate_same_seed_identical(tmp_path: Path) -> None:
    _generate(tmp_path / "first", 7)
    _generate(tmp_path / "second", 7)
    _generate(tmp_path / "other", 8)

    first = _tree_digest(tmp_path / "first")
    assert first == _tree_digest(tmp_path / "second")
    assert first != _tree_digest(tmp_path / "other")


def test_generate_writes_manifest_and_excludes(tmp_path: Path) -> None:
    _generate(tmp_path / "tree", 1)

    manifest = (tmp_path / "tree" / ".pipeline" / "manifest.yaml").read_text()
    assert "  - source: mediawiki\n    destination: .\n" in manifest
    assert "  - vendor\n" in manifest
    assert (tmp_path / "tree" / "mediawiki" / ".git" / "HEAD").is_file()
    assert (tmp_path / "tree" / "mediawiki" / "docs").is_dir()
    assert (tmp_path / "tree" / "mediawiki" / "node_modules").is_dir()


@pytest.mark.engine
def test_bench_small_runs(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--scale",
            "small",
            "--runs",
            "1",
            "--contenders",
            *CONTENDERS,
            "--workdir",
            str(tmp_path / "work"),
            "--output",
            str(output),
            "--image-prefix",
            f"flense-bench-test-{os.getpid()}",
            # Pruning the build cache would break other builds that use the
            # engine at the same time; this test checks no timings.
            "--no-prune",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    page = output.read_text()
    assert "## Machine" in page
    assert "Failed runs" not in page
    for name in CONTENDERS:
        assert f"| {name} | cold | 1 |" in page, name
    for name in ("buildx-chain", "buildx-link"):
        for scenario in ("no change", "one file changed", "component added"):
            assert f"| {name} | {scenario} | 1 |" in page, (name, scenario)
