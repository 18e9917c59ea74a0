"""Build outputs and cache options, parsed from buildx/buildctl-style text.

``--output`` values are comma-separated ``key=value`` fields, read as one CSV
record so that a field containing a comma can be quoted, as in
``type=image,"name=a:1,b:1"``. As in buildx,
a value without ``=`` is a directory for the ``local`` exporter, and ``-``
means a tar stream on standard output.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flense.errors import UsageError

# Exporters whose result the daemon sends to the client over the session.
CLIENT_EXPORTERS = frozenset({"local", "tar", "oci", "docker"})
# Client exporters that write one file (or a stream on standard output).
FILE_EXPORTERS = frozenset({"tar", "oci", "docker"})
# Exporters that keep the result in the daemon or push it to a registry.
DAEMON_EXPORTERS = frozenset({"image", "registry", "moby", "cacheonly"})

CACHE_TYPES = frozenset({"registry", "inline", "local", "gha", "s3", "azblob"})


@dataclass(frozen=True)
class Output:
    """One exporter: its type, its attributes, and a client-side destination.

    ``dest`` is a directory for ``local`` and a file (``-`` for standard
    output) for ``tar``, ``oci`` and ``docker``. It is not sent to the daemon.
    """

    type: str
    attrs: Mapping[str, str] = field(default_factory=dict)
    dest: str | None = None


@dataclass(frozen=True)
class CacheEntry:
    """One cache export or import: a backend type and its attributes."""

    type: str
    attrs: Mapping[str, str] = field(default_factory=dict)


def parse_output(text: str) -> Output:
    """Parse an ``--output`` value; raise UsageError naming the fix."""
    fields = _split_fields(text, "--output")
    if len(fields) == 1 and fields[0] == text and "=" not in text:
        if text == "-":
            return Output("tar", {}, "-")
        return Output("local", {}, text)

    output_type = ""
    dest: str | None = None
    attrs: dict[str, str] = {}
    for item in fields:
        key, value = _split_field(item, text, "--output")
        if key == "type":
            output_type = value
        elif key == "dest":
            dest = value
        elif key == "output":
            raise UsageError(
                f"invalid --output {text!r}: the key 'output' is not supported; "
                f"use dest=PATH"
            )
        else:
            attrs[key] = value

    if not output_type:
        raise UsageError(
            f"invalid --output {text!r}: type is missing; write for example "
            f"type=local,dest=DIR, type=tar,dest=FILE or type=image,name=NAME"
        )
    if output_type == "registry":
        output_type = "image"
        attrs.setdefault("push", "true")
    return _validate_output(Output(output_type, attrs, dest), text)


def parse_cache_entry(text: str, *, export: bool) -> CacheEntry:
    """Parse an ``--export-cache``/``--import-cache`` value.

    A value without ``=`` is a registry reference, as in buildctl. An export
    gets ``mode=min`` unless the text sets a mode.
    """
    option = "--export-cache" if export else "--import-cache"
    fields = _split_fields(text, option)
    if len(fields) == 1 and "=" not in fields[0]:
        attrs = {"ref": fields[0]}
        if export:
            attrs["mode"] = "min"
        return CacheEntry("registry", attrs)

    cache_type = ""
    attrs = {}
    for item in fields:
        key, value = _split_field(item, text, option)
        if key == "type":
            cache_type = value
        else:
            attrs[key] = value
    if not cache_type:
        raise UsageError(
            f"invalid {option} {text!r}: type is missing; write for example "
            f"type=registry,ref=REF or type=inline"
        )
    if cache_type not in CACHE_TYPES:
        raise UsageError(
            f"invalid {option} {text!r}: unknown cache type {cache_type!r}; use "
            f"one of {', '.join(sorted(CACHE_TYPES))}"
        )
    if cache_type == "local":
        # NOTE: the local cache backend needs the client to serve containerd's
        # content API on the session, which flense does not implement.
        raise UsageError(
            f"invalid {option} {text!r}: flense does not support the local "
            f"cache type; use type=registry or type=inline"
        )
    if export:
        attrs.setdefault("mode", "min")
    return CacheEntry(cache_type, attrs)


def check_destinations(outputs: Iterable[Output]) -> None:
    """Check that each output's dest can be written, before any build starts.

    A ``local`` dest must be a directory or a path whose parent directory
    exists. A file dest must be ``-`` (not a terminal) or a path whose
    directory exists and that is not a directory. Raises UsageError naming
    the option, the value and the fix.
    """
    for output in outputs:
        if output.dest is None:
            continue
        if output.type == "local":
            _check_directory_dest(output.dest)
        elif output.type in FILE_EXPORTERS:
            _check_file_dest(output.type, output.dest)


def _check_directory_dest(dest: str) -> None:
    option = f"--output type=local,dest={dest}"
    if os.path.isdir(dest):
        _check_writable(option, dest)
        return
    if os.path.lexists(dest):
        raise UsageError(
            f"invalid {option}: {dest} exists and is not a directory; give a "
            f"directory, or a new path whose parent directory exists"
        )
    _check_parent(option, dest)


def _check_file_dest(output_type: str, dest: str) -> None:
    option = f"--output type={output_type},dest={dest}"
    if dest == "-":
        if sys.stdout is not None and sys.stdout.isatty():
            raise UsageError(
                f"invalid {option}: standard output is a terminal, which cannot "
                f"take a {output_type} archive; redirect stdout to a file or a "
                f"pipe (flense build ... > image.tar), or give dest=FILE"
            )
        return
    if os.path.isdir(dest):
        raise UsageError(
            f"invalid {option}: {dest} is a directory; give a file path such as "
            f"{os.path.join(dest, 'image.tar')}"
        )
    _check_parent(option, dest)


def _check_parent(option: str, dest: str) -> None:
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise UsageError(
            f"invalid {option}: the directory {parent} does not exist; create it "
            f"first or give a dest in an existing directory"
        )
    _check_writable(option, parent)


def _check_writable(option: str, directory: str) -> None:
    # The export is staged in this directory before it is moved into place.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(
            f"invalid {option}: the directory {directory} is not writable by "
            f"this user; change its permissions or give another dest"
        )


def _validate_output(output: Output, text: str) -> Output:
    known = CLIENT_EXPORTERS | DAEMON_EXPORTERS
    if output.type not in known:
        raise UsageError(
            f"invalid --output {text!r}: unknown type {output.type!r}; use one of "
            f"{', '.join(sorted(known))}"
        )
    if output.type in CLIENT_EXPORTERS:
        if output.type in ("oci", "docker") and output.attrs.get("tar") == "false":
            raise UsageError(
                f"invalid --output {text!r}: flense cannot receive an {output.type} "
                f"layout directory (tar=false); remove tar=false to get a tar file"
            )
        if not output.dest:
            kind = (
                "a directory" if output.type == "local" else "a file, or - for stdout"
            )
            raise UsageError(
                f"invalid --output {text!r}: type={output.type} needs dest= with {kind}"
            )
        if output.type == "local" and output.dest == "-":
            raise UsageError(
                f"invalid --output {text!r}: type=local needs a directory as dest; "
                f"use type=tar,dest=- for a tar stream on stdout"
            )
    elif output.dest is not None:
        raise UsageError(
            f"invalid --output {text!r}: type={output.type} keeps the result in "
            f"the engine and takes no dest"
        )
    return output


def _split_fields(text: str, option: str) -> list[str]:
    if not text.strip():
        raise UsageError(f"invalid {option} {text!r}: the value is empty")
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as error:
        raise UsageError(f"invalid {option} {text!r}: {error}") from error
    fields = rows[0] if rows else []
    if not fields or any(item == "" for item in fields):
        raise UsageError(
            f"invalid {option} {text!r}: it contains an empty field; separate "
            f"key=value fields with single commas"
        )
    return fields


def _split_field(item: str, text: str, option: str) -> tuple[str, str]:
    key, separator, value = item.partition("=")
    key = key.strip().lower()
    if not separator or not key:
        raise UsageError(
            f"invalid {option} {text!r}: the field {item!r} is not key=value"
        )
    return key, value
