"""The flense command line: exit statuses, error lines and output guards."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from flense import __version__
from flense.cli import _assemble_mode
from flense.errors import UsageError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mediawiki"


def flense(*args: str, cwd: Path = EXAMPLE, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "flense", *args],
        cwd=cwd,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_version_prints_package_version():
    result = flense("--version", text=True)

    assert result.returncode == 0
    assert result.stdout.strip() == f"flense {__version__}"


def test_compile_writes_definition():
    result = flense("compile", ".pipeline/manifest.yaml")

    assert result.returncode == 0
    assert result.stdout.startswith(b"\n")  # field 1 (def), length-delimited
    assert result.stderr == b""


def test_bad_manifest_exits_2_without_traceback(tmp_path):
    (tmp_path / "core").mkdir()
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "destination:\n  root: /srv/app\ncomponents:\n  - source: core\n"
        "    buildr: copy\n"
    )

    result = flense("compile", str(manifest), "--context", str(tmp_path), text=True)

    assert result.returncode == 2
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith(f"{manifest}:5:5: ")
    assert '"buildr"' in first_line
    assert '"builder"' in first_line
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_context_exits_2(tmp_path):
    result = flense(
        "compile",
        ".pipeline/manifest.yaml",
        "--context",
        str(tmp_path / "no"),
        text=True,
    )

    assert result.returncode == 2
    assert "--context" in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_refuses_terminal():
    leader, follower = pty.openpty()
    try:
        result = flense("compile", ".pipeline/manifest.yaml", stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)

    assert result.returncode == 2
    assert b"refusing to write binary LLB to a terminal" in result.stderr


def test_bad_tag_rejected_before_build():
    result = flense(
        "build",
        ".pipeline/manifest.yaml",
        "--tag",
        "Bad Name:x",
        "--addr",
        "tcp://127.0.0.1:1",
        text=True,
    )

    assert result.returncode == 2
    assert "--tag 'Bad Name:x'" in result.stderr


@pytest.mark.parametrize(
    ("requested", "caps", "expected"),
    [
        ("auto", None, "merge"),
        ("auto", frozenset({"mergeop"}), "merge"),
        ("auto", frozenset(), "chain"),
        ("chain", frozenset({"mergeop"}), "chain"),
        ("merge", frozenset({"mergeop"}), "merge"),
    ],
)
def test_assemble_mode_choice(requested, caps, expected):
    assert _assemble_mode(requested, caps) == expected


def test_assemble_merge_without_mergeop():
    with pytest.raises(UsageError, match="containerd image store"):
        _assemble_mode("merge", frozenset())


@pytest.mark.parametrize(
    ("value", "expected"), [("plain", "plain"), ("bogus", "auto"), (None, "auto")]
)
def test_progress_default_from_environment(monkeypatch, value, expected):
    from flense.cli import _parser

    if value is None:
        monkeypatch.delenv("BUILDKIT_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("BUILDKIT_PROGRESS", value)

    args = _parser().parse_args(["build", "manifest.yaml"])

    assert args.progress == expected
