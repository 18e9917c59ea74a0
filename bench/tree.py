"""The benchmark tree and the edits that the scenarios make to it.

Every edit is recorded in a journal file before it is made, so ``reset``
can undo it even after the harness was interrupted half-way.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import generate

from flense.manifest import Manifest, load_manifest

logger = logging.getLogger(__name__)

ADDED_COMPONENT = "extensions/BenchAdded"
_SKIPPED_DIRECTORIES = frozenset({".git", "docs", "node_modules"})


@dataclass(frozen=True)
class AddedSize:
    """Files and bytes of the component that the "component added" scenario writes."""

    files: int
    total_bytes: int


class Tree:
    """A superproject on disk with its manifest, and undoable edits to it."""

    def __init__(
        self, root: Path, manifest_path: Path, journal_path: Path, seed: int
    ) -> None:
        self.root = root.resolve()
        self.manifest_path = manifest_path.resolve()
        self.journal_path = journal_path
        self.seed = seed

    def load(self) -> Manifest:
        """Load the manifest as it is now."""
        return load_manifest(self.manifest_path, self.root)

    def reset(self) -> None:
        """Undo every edit in the journal: truncate the changed file back to
        its original size, delete the added component, restore the manifest."""
        if not self.journal_path.exists():
            return
        journal = json.loads(self.journal_path.read_text())
        changed = journal.get("changed")
        if changed:
            os.truncate(self.root / changed["path"], changed["size"])
        added = journal.get("added")
        if added:
            shutil.rmtree(self.root / added, ignore_errors=True)
        manifest_text = journal.get("manifest")
        if manifest_text is not None:
            self.manifest_path.write_text(manifest_text)
        self.journal_path.unlink()
        logger.debug("tree reset: %s", journal.keys())

    def change_one_file(self, token: str) -> str:
        """Append a line to one source file of the middle component.

        Returns the changed file's path relative to the tree root.
        """
        manifest = self.load()
        component = manifest.components[len(manifest.components) // 2]
        relative = _first_source_file(self.root / component.source)
        path = self.root / component.source / relative
        self._record(
            "changed",
            {"path": str(path.relative_to(self.root)), "size": path.stat().st_size},
        )
        with open(path, "ab") as file:
            file.write(f"\n// changed by the benchmark: {token}\n".encode())
        return str(path.relative_to(self.root))

    def add_component(self, size: AddedSize) -> str:
        """Write a new extension and list it in the manifest."""
        self._record("manifest", self.manifest_path.read_text())
        self._record("added", ADDED_COMPONENT)
        if (self.root / ADDED_COMPONENT).exists():
            shutil.rmtree(self.root / ADDED_COMPONENT)
        generate.add_component(
            self.root,
            ADDED_COMPONENT,
            size.files,
            size.total_bytes,
            self.seed,
            manifest=self.manifest_path,
        )
        return ADDED_COMPONENT

    def _record(self, key: str, value: object) -> None:
        journal = {}
        if self.journal_path.exists():
            journal = json.loads(self.journal_path.read_text())
        journal[key] = value
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        self.journal_path.write_text(json.dumps(journal))


def _first_source_file(component_dir: Path) -> Path:
    """Find the first kept ``.php`` file in sorted walk order, else any file."""
    fallback: Path | None = None
    for directory, subdirectories, filenames in os.walk(component_dir):
        subdirectories[:] = sorted(
            name for name in subdirectories if name not in _SKIPPED_DIRECTORIES
        )
        for filename in sorted(filenames):
            path = Path(directory, filename)
            if path.is_symlink():
                continue
            if filename.endswith(".php"):
                return path.relative_to(component_dir)
            fallback = fallback or path.relative_to(component_dir)
    if fallback is None:
        raise FileNotFoundError(f"{component_dir} has no file to change")
    return fallback
