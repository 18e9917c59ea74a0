"""A manifest component from a git remote, fetched by the engine.

The remote is a ``git daemon`` on loopback, which dockerd's BuildKit reaches
because it fetches from the host's network namespace.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flense import llb
from flense.build import BuildRequest, run_build
from flense.compose import compose
from flense.manifest import load_manifest

pytestmark = pytest.mark.engine

GIT = ["git", "-c", "user.name=flense", "-c", "user.email=flense@localhost"]
REPOSITORY_FILES = {
    "extension.json": '{"name": "Remote"}\n',
    "src/Remote.php": "<?php // remote\n",
    "docs/guide.md": "excluded by the manifest\n",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"git daemon exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"git daemon did not listen on port {port}")


def make_repository(base: Path) -> None:
    work = base / "work"
    for relative, text in REPOSITORY_FILES.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (work / "run.sh").write_text("#!/bin/sh\necho run\n")
    (work / "run.sh").chmod(0o755)
    os.symlink("src/Remote.php", work / "entry.php")
    subprocess.run([*GIT, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-q", "-m", "init"], check=True)
    subprocess.run(
        [*GIT, "clone", "-q", "--bare", str(work), str(base / "remote.git")],
        check=True,
    )


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("git")
    make_repository(base)
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"git://127.0.0.1:{port}/remote.git"
    finally:
        process.terminate()
        process.wait(timeout=10)


def make_context(context: Path, remote: str) -> Path:
    (context / "core").mkdir(parents=True)
    (context / "core/index.php").write_text("<?php // core\n")
    (context / "manifest.yaml").write_text(
        "destination:\n"
        "  root: /srv/app\n"
        "  exclude: [docs]\n"
        "components:\n"
        "  - source: core\n"
        "    destination: .\n"
        f"  - git: {remote}#main\n"
        "    destination: extensions/Remote\n"
    )
    return context


def build(context: Path, output: str):
    manifest = load_manifest(context / "manifest.yaml", context)
    request = BuildRequest(
        definition=llb.marshal(compose(manifest, max_layers=100)),
        context=context,
        outputs=(output,),
        progress="quiet",
    )
    return run_build(request)


def test_git_component_lands_without_transfer(remote, tmp_path):
    context = make_context(tmp_path / "context", remote)
    out = tmp_path / "out"

    outcome = build(context, f"type=local,dest={out}")

    component = out / "srv/app/extensions/Remote"
    assert (component / "extension.json").read_text() == '{"name": "Remote"}\n'
    assert (component / "src/Remote.php").read_text() == "<?php // remote\n"
    assert os.readlink(component / "entry.php") == "src/Remote.php"
    assert os.access(component / "run.sh", os.X_OK)
    assert not (component / "docs").exists()
    assert not (component / ".git").exists()
    assert (out / "srv/app/index.php").is_file()
    # Only the local component is sent; the engine fetches the remote.
    transferred = [t.include_patterns for t in outcome.transfers]
    assert transferred == [("core",)]


def test_git_component_cached_on_rebuild(remote, tmp_path):
    context = make_context(tmp_path / "context", remote)
    build(context, "type=image,name=flense-test/git-component:rebuild")

    outcome = build(context, "type=image,name=flense-test/git-component:rebuild")

    copies = {v.name: v.cached for v in outcome.vertices if v.name.endswith("copy")}
    assert copies["[extensions/Remote] copy"]


def test_unreachable_remote_reported_once(tmp_path):
    context = make_context(tmp_path / "context", f"git://127.0.0.1:{free_port()}/x.git")
    flense = Path(sys.executable).parent / "flense"

    result = subprocess.run(
        [str(flense), "build", "manifest.yaml", "--progress", "plain"],
        cwd=context,
        capture_output=True,
        text=True,
        check=False,
    )

    lines = result.stderr.splitlines()
    assert result.returncode == 1
    assert lines[-1] == (
        "flense: error: BuildKit failed at step [extensions/Remote] git; its "
        "error and last output lines are above"
    )
    errors = [line for line in lines if line.startswith("ERROR: ")]
    assert len(errors) == 1
    assert "failed to fetch remote" in errors[0]
