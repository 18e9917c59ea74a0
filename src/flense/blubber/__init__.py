"""Blubber v4 configs (``.pipeline/blubber.yaml``) read and compiled natively.

The pipeline is: ``load_config`` (parse and validate) → ``expand`` (includes,
merge rules, stage graph) → ``compile_expansion`` (stages of instructions)
→ a backend: ``render_dockerfile`` for review, or the LLB compiler.
``compile_file`` runs the first three steps.
"""

from __future__ import annotations

from pathlib import Path

from flense.blubber.compile import BLUBBER_VERSION, compile_expansion, compile_variant
from flense.blubber.config import Config, Variant
from flense.blubber.dockerfile import render_dockerfile
from flense.blubber.expand import Expansion, expand
from flense.blubber.instructions import Stage
from flense.blubber.load import load_config

__all__ = [
    "BLUBBER_VERSION",
    "Config",
    "Expansion",
    "Stage",
    "Variant",
    "compile_expansion",
    "compile_file",
    "compile_variant",
    "expand",
    "load_config",
    "render_dockerfile",
]


def compile_file(path: Path, variant: str) -> tuple[Stage, ...]:
    """Load the Blubber file at ``path`` and compile ``variant``, leaves first.

    Raises flense.errors.UserInputError (exit status 2) for any invalid
    file, unknown variant or include cycle.
    """
    return compile_variant(load_config(Path(path)), variant)
