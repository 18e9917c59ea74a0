"""Parsing of --output, --export-cache and --import-cache values."""

from __future__ import annotations

import pytest

from flense.engine.outputs import CacheEntry, Output, parse_cache_entry, parse_output
from flense.errors import UsageError

OUTPUT_CASES = [
    ("type=local,dest=out", Output("local", {}, "out")),
    ("type=tar,dest=image.tar", Output("tar", {}, "image.tar")),
    ("type=tar,dest=-", Output("tar", {}, "-")),
    ("type=image,name=wiki:latest", Output("image", {"name": "wiki:latest"}, None)),
    (
        'type=image,"name=wiki:1,wiki:latest"',
        Output("image", {"name": "wiki:1,wiki:latest"}, None),
    ),
    ("type=moby,name=wiki", Output("moby", {"name": "wiki"}, None)),
    ("type=registry,name=r/wiki", Output("image", {"name": "r/wiki", "push": "true"})),
    ("TYPE=local,Dest=out", Output("local", {}, "out")),
    ("type=local,dest=a=b", Output("local", {}, "a=b")),
    ("type=oci,dest=out.tar", Output("oci", {}, "out.tar")),
    ("type=cacheonly", Output("cacheonly", {}, None)),
    ("out", Output("local", {}, "out")),
    ("-", Output("tar", {}, "-")),
    ("type=local,dest=dir with spaces", Output("local", {}, "dir with spaces")),
]


@pytest.mark.parametrize(("text", "expected"), OUTPUT_CASES)
def test_parse_output(text: str, expected: Output) -> None:
    assert parse_output(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the value is empty"),
        ("dest=out", "type is missing"),
        ("type=local", "needs dest= with a directory"),
        ("type=tar", "needs dest= with a file"),
        ("type=local,dest=-", "needs a directory as dest"),
        ("type=image,name=x,dest=out", "takes no dest"),
        ("type=bogus,dest=x", "unknown type 'bogus'"),
        ("type=local,,dest=out", "empty field"),
        ("type=local,dest", "'dest' is not key=value"),
        ("type=local,output=out", "the key 'output' is not supported"),
        ("type=oci,dest=out,tar=false", "tar=false"),
        ('type=local,"dest=out', "invalid --output"),
    ],
)
def test_parse_output_invalid(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_output(text)


@pytest.mark.parametrize(
    ("text", "export", "expected"),
    [
        (
            "registry.example/cache:1",
            True,
            CacheEntry("registry", {"ref": "registry.example/cache:1", "mode": "min"}),
        ),
        (
            "registry.example/cache:1",
            False,
            CacheEntry("registry", {"ref": "registry.example/cache:1"}),
        ),
        ("type=inline", True, CacheEntry("inline", {"mode": "min"})),
        (
            "type=registry,ref=r/c,mode=max",
            True,
            CacheEntry("registry", {"ref": "r/c", "mode": "max"}),
        ),
        ("type=registry,ref=r/c", False, CacheEntry("registry", {"ref": "r/c"})),
    ],
)
def test_parse_cache_entry(text: str, export: bool, expected: CacheEntry) -> None:
    assert parse_cache_entry(text, export=export) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ref=r/c", "type is missing"),
        ("type=floppy", "unknown cache type 'floppy'"),
        ("type=local,dest=cache", "does not support the local cache type"),
    ],
)
def test_parse_cache_entry_invalid(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_cache_entry(text, export=True)
