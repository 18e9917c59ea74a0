"""Build BuildKit LLB graphs in Python, the way Go's ``client/llb`` does.

States are immutable: each call returns a new state. ``marshal`` turns a
state into a ``Definition`` whose ``to_bytes()`` is what ``buildctl build``
reads on stdin. See docs/llb.md for a guide.
"""

from flense.llb.diff import diff
from flense.llb.exec import (
    ExecState,
    Mount,
    ProxyEnv,
    bind,
    cache_mount,
    secret_mount,
    ssh_mount,
    tmpfs,
)
from flense.llb.fileop import FileAction, Owner, copy, mkdir, mkfile, rm, symlink
from flense.llb.marshal import Definition, DefinitionOp, marshal
from flense.llb.merge import merge
from flense.llb.platform import Platform
from flense.llb.reference import normalize_image_reference
from flense.llb.source import git, image, local
from flense.llb.state import State, scratch
from flense.llb.vertex import Output, ProgressGroup

__all__ = [
    "Definition",
    "DefinitionOp",
    "ExecState",
    "FileAction",
    "Mount",
    "Output",
    "Owner",
    "Platform",
    "ProgressGroup",
    "ProxyEnv",
    "State",
    "bind",
    "cache_mount",
    "copy",
    "diff",
    "git",
    "image",
    "local",
    "marshal",
    "merge",
    "mkdir",
    "mkfile",
    "normalize_image_reference",
    "rm",
    "scratch",
    "secret_mount",
    "ssh_mount",
    "symlink",
    "tmpfs",
]
