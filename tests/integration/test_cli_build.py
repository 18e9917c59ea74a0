"""`flense build` of a compiled LLB definition, from a file and from a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

FLENSE = str(Path(sys.executable).parent / "flense")
MANIFEST = """\
destination:
  root: /srv/app
components:
  - source: core
    destination: .
  - extensions/Cite
"""


def make_context(root: Path) -> Path:
    files = {
        "core/index.php": "<?php // core\n",
        "core/extensions/README": "extensions go here\n",
        "extensions/Cite/extension.json": '{"name": "Cite"}\n',
        "extensions/Cite/src/Cite.php": "<?php // cite\n",
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "manifest.yaml").write_text(MANIFEST)
    return root


def tree(root: Path) -> dict[str, bytes | None]:
    entries: dict[str, bytes | None] = {}
    for directory, _, filenames in os.walk(root):
        entries[Path(directory).relative_to(root).as_posix()] = None
        for name in filenames:
            path = Path(directory) / name
            entries[path.relative_to(root).as_posix()] = path.read_bytes()
    return entries


def run(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FLENSE, *args], cwd=cwd, capture_output=True, check=False, **kwargs
    )


def test_build_compiled_definition(tmp_path):
    context = make_context(tmp_path / "context")
    compiled = run("compile", "manifest.yaml", cwd=context)
    assert compiled.returncode == 0, compiled.stderr
    definition = tmp_path / "def.pb"
    definition.write_bytes(compiled.stdout)
    outputs = {name: tmp_path / name for name in ("manifest", "file", "pipe")}

    from_manifest = run(
        "build",
        "manifest.yaml",
        "-o",
        f"type=local,dest={outputs['manifest']}",
        cwd=context,
    )
    from_file = run(
        "build",
        str(definition),
        "--context",
        str(context),
        "-o",
        f"type=local,dest={outputs['file']}",
        cwd=tmp_path,
    )
    from_pipe = run(
        "build",
        "-",
        "-o",
        f"type=local,dest={outputs['pipe']}",
        "--max-layers",
        "5",
        cwd=context,
        input=compiled.stdout,
    )

    for result in (from_manifest, from_file, from_pipe):
        assert result.returncode == 0, result.stderr.decode()
    expected = tree(outputs["manifest"] / "srv" / "app")
    assert expected["extensions/Cite/src/Cite.php"] == b"<?php // cite\n"
    assert tree(outputs["file"] / "srv" / "app") == expected
    assert tree(outputs["pipe"] / "srv" / "app") == expected
    assert (
        b"--max-layers applies to manifests and is ignored for a compiled LLB "
        b"definition" in from_pipe.stderr
    )
    assert b"in 2 transfers" in from_file.stderr
