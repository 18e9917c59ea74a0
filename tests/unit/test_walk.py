"""Tests for the file-sync walk on real temporary trees.

Expected listings for the exclude cases were checked against the context
that ``docker buildx build`` 0.13.1 sends for the same ``.dockerignore``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from flense.engine.filesync import walk as walk_module
from flense.engine.filesync.walk import Entry, resolve_follow_paths, walk
from flense.patterns import PatternSyntaxError, escape, normalize


def make_tree(root: Path, files: Sequence[str], dirs: Sequence[str] = ()) -> Path:
    """Create files (content is their own path) and empty directories."""
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    for name in dirs:
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


def paths(
    root: Path,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    follow_paths: Sequence[str] = (),
) -> list[str]:
    entries = walk(root, include=include, exclude=exclude, follow_paths=follow_paths)
    return [entry.path for entry in entries]


def test_walk_order_subtree_before_sibling(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a-b", "a/x", "a/y/z", "a.txt", "B", "b"])
    assert paths(tmp_path) == ["B", "a", "a/x", "a/y", "a/y/z", "a-b", "a.txt", "b"]


def test_walk_order_is_bytewise(tmp_path: Path) -> None:
    make_tree(tmp_path, ["z", "é", "Z", "e", "中"])
    assert paths(tmp_path) == ["Z", "e", "z", "é", "中"]


def test_walk_non_utf8_name_order(tmp_path: Path) -> None:
    """Byte 0xC3 alone sorts before "é" (C3 A9), unlike its decoded form."""
    (tmp_path / "é").write_text("")
    raw = os.path.join(os.fsencode(tmp_path), b"\xc3")
    with open(raw, "wb"):
        pass
    listed = paths(tmp_path)
    assert [os.fsencode(path) for path in listed] == [b"\xc3", "é".encode()]


def test_walk_root_not_an_entry(tmp_path: Path) -> None:
    make_tree(tmp_path, ["f"])
    assert "" not in paths(tmp_path)
    assert "." not in paths(tmp_path)


def test_walk_empty_directories(tmp_path: Path) -> None:
    make_tree(tmp_path, ["f"], dirs=["empty", "sub/emptydir"])
    assert paths(tmp_path) == ["empty", "f", "sub", "sub/emptydir"]


def test_walk_spaces_and_non_ascii(tmp_path: Path) -> None:
    make_tree(tmp_path, ["dir with space/é (1).txt", "Ωmega"])
    expected = ["dir with space", "dir with space/é (1).txt", "Ωmega"]
    assert paths(tmp_path) == expected


def test_walk_stat_is_lstat(tmp_path: Path) -> None:
    make_tree(tmp_path, ["f"])
    (tmp_path / "f").chmod(0o640)
    entry = next(iter(walk(tmp_path)))
    assert stat.S_ISREG(entry.stat.st_mode)
    assert stat.S_IMODE(entry.stat.st_mode) == 0o640
    assert entry.link_target is None
    assert entry.hardlink is False


def test_walk_symlinks_not_followed(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root", ["dir/f"])
    outside = make_tree(tmp_path / "outside", ["secret"])
    (root / "to-dir").symlink_to("dir")
    (root / "to-outside").symlink_to(outside)
    (root / "dangling").symlink_to("missing")
    entries = {entry.path: entry for entry in walk(root)}

    assert list(entries) == ["dangling", "dir", "dir/f", "to-dir", "to-outside"]
    for name, target in [
        ("dangling", "missing"),
        ("to-dir", "dir"),
        ("to-outside", str(outside)),
    ]:
        assert stat.S_ISLNK(entries[name].stat.st_mode), name
        assert entries[name].link_target == target, name
        assert entries[name].hardlink is False, name


def test_walk_root_symlink_resolved(tmp_path: Path) -> None:
    make_tree(tmp_path / "real", ["f"])
    (tmp_path / "link").symlink_to("real")
    assert paths(tmp_path / "link") == ["f"]


def test_walk_root_not_directory(tmp_path: Path) -> None:
    make_tree(tmp_path, ["f"])
    with pytest.raises(NotADirectoryError):
        list(walk(tmp_path / "f"))


def test_walk_root_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(walk(tmp_path / "missing"))


def test_walk_hardlinks(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a/first"])
    os.link(tmp_path / "a/first", tmp_path / "b")
    os.link(tmp_path / "a/first", tmp_path / "c")
    entries = {entry.path: entry for entry in walk(tmp_path)}

    assert entries["a/first"].hardlink is False
    assert entries["a/first"].link_target is None
    for name in ("b", "c"):
        assert entries[name].hardlink is True, name
        assert entries[name].link_target == "a/first", name


def test_walk_hardlink_source_excluded(tmp_path: Path) -> None:
    """The first sent path of an inode becomes the file the others link to."""
    make_tree(tmp_path, ["a/first"])
    os.link(tmp_path / "a/first", tmp_path / "b")
    os.link(tmp_path / "a/first", tmp_path / "c")
    entries = {entry.path: entry for entry in walk(tmp_path, exclude=["a"])}

    assert list(entries) == ["b", "c"]
    assert entries["b"].hardlink is False
    assert entries["c"].hardlink is True
    assert entries["c"].link_target == "b"


# Tree for the filter tables: the inputs of the known ignore-file bug reports
# plus names that are prefixes of each other.
TREE = [
    "a.py",
    "a.txt",
    "sub/b.py",
    "sub/deep/c.py",
    "foo/bar",
    "x/foo/bar",
    "x/foobar",
    "foobar/y",
    "vendor/a",
    "vendorx/b",
    "extensions/vendor/c",
    "blog",
    "log/x",
    ".git/HEAD",
    "m/.git/HEAD",
    "docs/README.md",
    "docs/a/b.md",
    "util/docker/web/foo",
    "util/docker/web/bar",
    "util/x",
]
TREE_DIRS = ["empty"]


def _all_paths() -> list[str]:
    found = set(TREE_DIRS)
    for name in TREE:
        parts = name.split("/")
        for depth in range(1, len(parts) + 1):
            found.add("/".join(parts[:depth]))
    return sorted(found)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path, TREE, TREE_DIRS)


def without(*removed: str) -> list[str]:
    """All tree paths except those equal to or below the removed ones."""
    return [
        path
        for path in _all_paths()
        if not any(path == r or path.startswith(r + "/") for r in removed)
    ]


EXCLUDE_CASES = [
    (
        ["*", "!**/*.py"],
        ["a.py", "sub", "sub/b.py", "sub/deep", "sub/deep/c.py"],
    ),
    (
        ["**", "!util/docker/web", "util/docker/web/foo"],
        ["util", "util/docker", "util/docker/web", "util/docker/web/bar"],
    ),
    (["*", "!foo/bar"], ["foo", "foo/bar"]),
    (["*", "!sub", "sub/deep"], ["sub", "sub/b.py"]),
    (["*", "!sub/deep/*.py"], ["sub", "sub/deep", "sub/deep/c.py"]),
    (["*", "!empty"], ["empty"]),
    (["vendor"], without("vendor")),
    (["log/"], without("log")),
    ([".git"], without(".git")),
    (["**/.git"], without(".git", "m/.git")),
    (["docs/"], without("docs")),
    (["docs", "!docs/README.md"], without("docs/a")),
    (["docs/**"], without("docs/README.md", "docs/a")),
    (["**/foo"], without("foo", "x/foo", "util/docker/web/foo")),
    (["a.py/"], without("a.py")),
    (["!a.py", "a.py"], without("a.py")),
    (["a.py", "!a.py"], without()),
]


@pytest.mark.parametrize(("exclude", "expected"), EXCLUDE_CASES)
def test_walk_exclude(tree: Path, exclude: list[str], expected: list[str]) -> None:
    assert sorted(paths(tree, exclude=exclude)) == expected


INCLUDE_CASES = [
    (
        ["**/foo"],
        [
            "foo",
            "foo/bar",
            "util",
            "util/docker",
            "util/docker/web",
            "util/docker/web/foo",
            "x",
            "x/foo",
            "x/foo/bar",
        ],
    ),
    (
        ["**/x"],
        ["log", "log/x", "util", "util/x", "x", "x/foo", "x/foo/bar", "x/foobar"],
    ),
    (["vendor"], ["vendor", "vendor/a"]),
    (["log/"], ["log", "log/x"]),
    (["sub/deep/c.py"], ["sub", "sub/deep", "sub/deep/c.py"]),
    (["**/*.py"], ["a.py", "sub", "sub/b.py", "sub/deep", "sub/deep/c.py"]),
    (["docs/*"], ["docs", "docs/README.md", "docs/a", "docs/a/b.md"]),
    (["nothing/here"], []),
]


@pytest.mark.parametrize(("include", "expected"), INCLUDE_CASES)
def test_walk_include(tree: Path, include: list[str], expected: list[str]) -> None:
    assert sorted(paths(tree, include=include)) == expected


def test_walk_include_double_star_element(tmp_path: Path) -> None:
    """ "**/foo" selects whole elements named foo, not names starting with it."""
    make_tree(tmp_path, ["foo/bar", "x/foo/bar", "x/foobar", "foobar/y"])
    listed = paths(tmp_path, include=["**/foo"])
    assert listed == ["foo", "foo/bar", "x", "x/foo", "x/foo/bar"]


def test_walk_lazy_parents_order(tree: Path) -> None:
    """Parents of an included file come just before it, in walk order."""
    listed = paths(tree, include=["x/foo/bar", "util/docker/web/foo"])
    expected = [
        "util",
        "util/docker",
        "util/docker/web",
        "util/docker/web/foo",
        "x",
        "x/foo",
        "x/foo/bar",
    ]
    assert listed == expected


def test_walk_lazy_parents_under_exclude(tree: Path) -> None:
    listed = paths(tree, exclude=["**", "!**/c.py"])
    assert listed == ["sub", "sub/deep", "sub/deep/c.py"]


def test_walk_include_and_exclude(tree: Path) -> None:
    listed = paths(tree, include=["sub", "docs"], exclude=["**/*.py", "docs/a"])
    assert listed == ["docs", "docs/README.md", "sub", "sub/deep"]


def test_walk_exclude_wins_over_include(tree: Path) -> None:
    assert paths(tree, include=["vendor"], exclude=["vendor/a"]) == ["vendor"]


@pytest.mark.parametrize(
    "literal",
    ["c++.txt", "resources/[id].json", "a*b.txt", "x?y", "back\\slash"],
)
def test_walk_escaped_literal_include(tmp_path: Path, literal: str) -> None:
    lookalikes = ["c+.txt", "resources/i.json", "axb.txt", "xzy", "backslash"]
    names = ["c++.txt", "resources/[id].json", "a*b.txt", "x?y", "back\\slash"]
    make_tree(tmp_path, names + lookalikes)
    listed = paths(tmp_path, include=[escape(literal)])
    parents = ["resources"] if "/" in literal else []
    assert listed == parents + [literal]


class ScandirSpy:
    """Record the directories walk lists, delegating to the real os.scandir."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.listed: list[str] = []
        self._scandir = os.scandir

    def __call__(self, path: str) -> os.ScandirIterator[str]:
        self.listed.append(os.path.relpath(path, self.root))
        return self._scandir(path)


@pytest.mark.parametrize(
    ("exclude", "listed"),
    [
        (
            ["vendor", "x"],
            [
                ".",
                "docs",
                "docs/a",
                "empty",
                "extensions",
                "extensions/vendor",
                "foo",
                "foobar",
                "log",
                "m",
                "m/.git",
                "sub",
                "sub/deep",
                "util",
                "util/docker",
                "util/docker/web",
                "vendorx",
                ".git",
            ],
        ),
        # An exception without glob characters lets walk enter only its
        # ancestors.
        (["*", "!util/docker"], [".", "util", "util/docker", "util/docker/web"]),
    ],
)
def test_walk_excluded_dirs_not_listed(
    tree: Path, monkeypatch: pytest.MonkeyPatch, exclude: list[str], listed: list[str]
) -> None:
    spy = ScandirSpy(tree)
    monkeypatch.setattr(walk_module.os, "scandir", spy)
    list(walk(tree, exclude=exclude))
    assert sorted(spy.listed) == sorted(listed)


def test_walk_include_prefix_skips_dirs(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = ScandirSpy(tree)
    monkeypatch.setattr(walk_module.os, "scandir", spy)
    assert paths(tree, include=["sub/deep"]) == ["sub", "sub/deep", "sub/deep/c.py"]
    assert spy.listed == [".", "sub", "sub/deep"]


def test_walk_invalid_pattern(tree: Path) -> None:
    with pytest.raises(PatternSyntaxError):
        list(walk(tree, exclude=["[a-"]))


def test_walk_follow_paths(tmp_path: Path) -> None:
    make_tree(tmp_path, ["build/Dockerfile.real", "other/file"])
    (tmp_path / "Dockerfile").symlink_to("build/Dockerfile.real")
    listed = paths(tmp_path, include=["Dockerfile"], follow_paths=["Dockerfile"])
    assert listed == ["Dockerfile", "build", "build/Dockerfile.real"]


def test_walk_follow_root_means_everything(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a", "b/c"])
    listed = paths(tmp_path, include=["a"], follow_paths=["."])
    assert listed == ["a"]
    listed = paths(tmp_path, include=["a", "."], follow_paths=["a"])
    assert listed == ["a", "b", "b/c"]


def make_links(root: Path, links: Sequence[tuple[str, str]]) -> None:
    for name, target in links:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)


FOLLOW_CASES = [
    # (files, symlinks, follow paths, expected)
    (
        ["dir/foo", "bar", "baz"],
        [("dir/l1", "foo"), ("l2", "dir/l1")],
        ["l2", "bar"],
        ["bar", "dir/foo", "dir/l1", "l2"],
    ),
    ([], [("l1", "l1"), ("l3", "l2"), ("l2", "l3")], ["l1", "l3"], ["l1", "l2", "l3"]),
    (
        ["baz", "foo/keep"],
        [("dir/l1", "/foo/bar/baz"), ("foo/bar", "../../../")],
        ["dir/l1"],
        ["baz", "dir/l1", "foo/bar"],
    ),
    ([], [], ["foo/bar/baz", "bar/baz"], ["bar/baz", "foo/bar/baz"]),
    ([], [], ["foo/bar/baz", "foo/bar"], ["foo/bar"]),
    ([], [], ["f*/foo/t*"], ["f*/foo/t*"]),
    (
        ["foo/bar1", "foo/bar3", "baz"],
        [
            ("dir/l1", "/foo/bar1"),
            ("dir/l2", "/foo/bar2"),
            ("dir/anotherlink", "/foo/bar3"),
            ("foo/bar2", "../baz"),
        ],
        ["dir/l*"],
        ["baz", "dir/l*", "foo/bar1", "foo/bar2"],
    ),
    (
        ["foo/bar1", "foo/bar3"],
        [("dir/anotherlink", "/foo/bar3")],
        ["dir", "dir/*link"],
        ["dir", "foo/bar3"],
    ),
]


@pytest.mark.parametrize(("files", "links", "follow", "expected"), FOLLOW_CASES)
def test_resolve_follow_paths(
    tmp_path: Path,
    files: list[str],
    links: list[tuple[str, str]],
    follow: list[str],
    expected: list[str],
) -> None:
    make_tree(tmp_path, files)
    make_links(tmp_path, links)
    assert resolve_follow_paths(tmp_path, follow) == expected


def test_resolve_follow_paths_root(tmp_path: Path) -> None:
    make_links(tmp_path, [("dir/l2", "/")])
    assert resolve_follow_paths(tmp_path, ["."]) is None
    assert resolve_follow_paths(tmp_path, ["dir/l2", "foo"]) is None


def test_entry_is_frozen(tmp_path: Path) -> None:
    make_tree(tmp_path, ["f"])
    entry = next(iter(walk(tmp_path)))
    assert isinstance(entry, Entry)
    with pytest.raises(AttributeError):
        entry.path = "g"  # type: ignore[misc]


# The component tree and examples of docs/patterns.md, in the order the page
# shows them.
DOC_TREE = [
    ".git/HEAD",
    "a.py",
    "a.txt",
    "blog/post.md",
    "docs/api/ref.md",
    "docs/index.md",
    "ext/.git/HEAD",
    "ext/docs/notes.md",
    "log/today.log",
    "sub/b.py",
    "vendor/lib.php",
    "vendorx/b.php",
]


def _doc_all() -> list[str]:
    found: set[str] = set()
    for name in DOC_TREE:
        parts = name.split("/")
        for depth in range(1, len(parts) + 1):
            found.add("/".join(parts[:depth]))
    return sorted(found)


def doc_without(*removed: str) -> list[str]:
    return [
        path
        for path in _doc_all()
        if not any(path == r or path.startswith(r + "/") for r in removed)
    ]


DOC_CASES = [
    (["docs"], doc_without("docs")),
    (["docs/"], doc_without("docs")),
    (["/docs"], doc_without("docs")),
    (["**/docs"], doc_without("docs", "ext/docs")),
    (["docs/**"], doc_without("docs/api", "docs/index.md")),
    ([".git"], doc_without(".git")),
    (["**/.git"], doc_without(".git", "ext/.git")),
    (["vendor"], doc_without("vendor")),
    (["log/"], doc_without("log")),
    (["*.md"], doc_without()),
    (
        ["**/*.md"],
        doc_without(
            "blog/post.md", "docs/api/ref.md", "docs/index.md", "ext/docs/notes.md"
        ),
    ),
    (["a.py/"], doc_without("a.py")),
    (["[!a]*"], doc_without("a.py", "a.txt")),
    (["*.py", "!a.py"], doc_without()),
    (["!a.py", "*.py"], doc_without("a.py")),
    (["docs", "!docs/api/ref.md"], doc_without("docs/index.md")),
    (["*", "!**/*.py"], ["a.py", "sub", "sub/b.py"]),
]


@pytest.mark.parametrize(("exclude", "expected"), DOC_CASES)
def test_walk_doc_examples(
    tmp_path: Path, exclude: list[str], expected: list[str]
) -> None:
    make_tree(tmp_path, DOC_TREE)
    normalized = [normalize(pattern) for pattern in exclude]
    assert paths(tmp_path, exclude=normalized) == expected
