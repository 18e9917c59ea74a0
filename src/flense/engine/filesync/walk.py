"""The directory walk of a BuildKit file-sync sender, with fsutil's filtering.

BuildKit's receiver accepts the entries of a local source only in one order:
depth-first pre-order, names sorted bytewise within each directory, every
directory before its contents. The filtering follows ``tonistiigi/fsutil``
(``filter.go`` and ``followlinks.go``, read at commit 6d9dc2e), the sender that
buildctl and buildx use:

* An entry is sent when it or a parent matches an include pattern. A
  directory that does not match is still walked when an include pattern could
  match below it, and its entry is sent just before the first entry below it
  that is sent.
* An entry is skipped when the exclude patterns match it or a parent, unless
  a later ``!`` pattern re-includes it. An excluded directory is walked only
  when an exception could match inside it, with the same lazy parent entries.
* Follow paths name symlinks, resolved inside the root, whose targets are
  added to the include patterns.

File names that are not valid UTF-8 are decoded with ``os.fsdecode``, so each
undecodable byte becomes one lone surrogate character in ``Entry.path`` and
``os.fsencode(entry.path)`` returns the raw bytes that Go's sender puts on the
wire. A pattern matches such a byte as one character, as Go's regexp reads it
as one invalid rune. Entries are sorted by the raw bytes.
"""

from __future__ import annotations

import logging
import os
import stat as stat_module
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flense.patterns import MatchInfo, PatternMatcher, go_clean, go_glob_match

__all__ = ["Entry", "resolve_follow_paths", "walk"]

logger = logging.getLogger(__name__)

# Characters that make fsutil treat a pattern as more than a path prefix.
_PATTERN_CHARS = frozenset("*[]?^\\")


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry the sender reports, in the order the receiver requires.

    For a hardlink the wire format requires size 0 and the regular-file mode,
    while ``stat`` contains the lstat result of the file itself.
    """

    path: str
    stat: os.stat_result
    link_target: str | None
    hardlink: bool


@dataclass(slots=True)
class _Directory:
    """A directory on the walk stack, with its sorted entries."""

    path: str
    prefix: str
    entries: list[os.DirEntry[str]]
    include_info: MatchInfo = ()
    exclude_info: MatchInfo = ()
    # The directory's own entry while it has not been sent (lazy emission).
    pending: os.DirEntry[str] | None = None
    position: int = field(default=0)


@dataclass(frozen=True, slots=True)
class _Filter:
    """Compiled include and exclude patterns with fsutil's walk shortcuts."""

    include: PatternMatcher | None
    exclude: PatternMatcher | None
    # "pattern/" strings, set when every include pattern is a plain path
    # prefix. Then a directory that no include can reach is not walked.
    include_prefixes: tuple[str, ...] | None
    # The same for the "!" exceptions of the exclude patterns.
    exception_prefixes: tuple[str, ...] | None


def walk(
    root: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    follow_paths: Sequence[str] = (),
) -> Iterator[Entry]:
    """Yield the entries below root that a file-sync sender sends, in order.

    The root is resolved through symlinks, and everything below it is
    lstat'ed, so a symlink is sent as a link and never followed. Raises
    PatternSyntaxError for a bad pattern, NotADirectoryError when root is
    not a directory, and OSError when a directory that is sent cannot be
    read. An unreadable directory that the filters skip is passed over, as
    fsutil does.
    """
    resolved = Path(root).resolve(strict=True)
    if not resolved.is_dir():
        raise NotADirectoryError(f"file-sync root {str(root)!r} is not a directory")

    include_patterns = list(include)
    if follow_paths:
        targets = resolve_follow_paths(resolved, follow_paths)
        if targets is not None:
            # A "." among them means the whole root: no include filter.
            include_patterns = _dedupe_paths(include_patterns + targets) or []

    walk_filter = _build_filter(include_patterns, exclude)
    if walk_filter is None:
        return _walk_all(resolved)
    return _walk_filtered(resolved, walk_filter)


def _build_filter(include: Sequence[str], exclude: Sequence[str]) -> _Filter | None:
    include_matcher = PatternMatcher(include) if include else None
    exclude_matcher = PatternMatcher(exclude) if exclude else None
    if include_matcher is None and exclude_matcher is None:
        return None

    include_prefixes: tuple[str, ...] | None = None
    if include_matcher is not None:
        stems = [
            _strip_trailing_glob(p.text)
            for p in include_matcher.patterns
            if not p.exclusion
        ]
        if not any(_PATTERN_CHARS.intersection(stem) for stem in stems):
            include_prefixes = tuple(stem + "/" for stem in stems)

    exception_prefixes: tuple[str, ...] | None = None
    if exclude_matcher is not None:
        stems = [
            _strip_trailing_glob(p.text)
            for p in exclude_matcher.patterns
            if p.exclusion
        ]
        if not any(_PATTERN_CHARS.intersection(stem) for stem in stems):
            exception_prefixes = tuple(stem + "/" for stem in stems)

    return _Filter(
        include_matcher, exclude_matcher, include_prefixes, exception_prefixes
    )


def _strip_trailing_glob(pattern: str) -> str:
    return pattern.removesuffix("/**").removesuffix("/*")


def _scan_sorted(path: str) -> list[os.DirEntry[str]]:
    """List a directory, sorted bytewise by name as Go's os.ReadDir sorts."""
    with os.scandir(path) as iterator:
        entries = list(iterator)
    entries.sort(key=_entry_name)
    names = "\0".join(entry.name for entry in entries)
    try:
        names.encode("utf-8")
    except UnicodeEncodeError:
        # Code-point order equals UTF-8 byte order except for the lone
        # surrogates that stand for undecodable bytes.
        entries.sort(key=_entry_name_bytes)
    return entries


def _entry_name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _entry_name_bytes(entry: os.DirEntry[str]) -> bytes:
    return os.fsencode(entry.name)


class _EntryMaker:
    """Build entries, tracking inodes so a second hardlink names the first."""

    __slots__ = ("_first_paths",)

    def __init__(self) -> None:
        self._first_paths: dict[tuple[int, int], str] = {}

    def make(self, path: str, dir_entry: os.DirEntry[str]) -> Entry:
        info = dir_entry.stat(follow_symlinks=False)
        mode = info.st_mode
        if stat_module.S_ISDIR(mode):
            return Entry(path, info, None, False)
        if stat_module.S_ISLNK(mode):
            return Entry(path, info, os.readlink(dir_entry.path), False)
        if info.st_nlink > 1:
            # NOTE: fsutil keys this map by inode number alone. flense adds
            # the device, so equal inode numbers on two mounts do not collide.
            key = (info.st_dev, info.st_ino)
            first = self._first_paths.get(key)
            if first is not None:
                return Entry(path, info, first, True)
            self._first_paths[key] = path
        return Entry(path, info, None, False)


def _walk_all(root: Path) -> Iterator[Entry]:
    maker = _EntryMaker()
    stack = [_Directory("", "", _scan_sorted(str(root)))]
    while stack:
        directory = stack[-1]
        if directory.position >= len(directory.entries):
            stack.pop()
            continue
        dir_entry = directory.entries[directory.position]
        directory.position += 1
        path = directory.prefix + dir_entry.name
        try:
            entry = maker.make(path, dir_entry)
        except (FileNotFoundError, NotADirectoryError):
            continue
        yield entry
        if stat_module.S_ISDIR(entry.stat.st_mode):
            children = _scan_or_none(dir_entry.path, skipped=False)
            if children is not None:
                stack.append(_Directory(path, path + "/", children))


def _scan_or_none(path: str, *, skipped: bool) -> list[os.DirEntry[str]] | None:
    """List a directory, or return None if it vanished or is unreadable but skipped."""
    try:
        return _scan_sorted(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        if skipped:
            logger.debug("skipping unreadable directory %s below no sent entry", path)
            return None
        raise


def _walk_filtered(root: Path, walk_filter: _Filter) -> Iterator[Entry]:
    maker = _EntryMaker()
    include = walk_filter.include
    exclude = walk_filter.exclude
    stack = [_Directory("", "", _scan_sorted(str(root)))]
    # True while a directory on the stack may still wait for its entry.
    parents_pending = False
    while stack:
        directory = stack[-1]
        if directory.position >= len(directory.entries):
            stack.pop()
            continue
        dir_entry = directory.entries[directory.position]
        directory.position += 1
        path = directory.prefix + dir_entry.name
        try:
            is_dir = dir_entry.is_dir(follow_symlinks=False)
        except FileNotFoundError:
            continue
        # The root is not a parent for matching: top-level entries start
        # without parent results.
        parent = directory if len(stack) > 1 else None

        skip = False
        include_info: MatchInfo = ()
        if include is not None:
            parent_info = parent.include_info if parent else ()
            matched, include_info = include.matches_using_parent(path, parent_info)
            if not matched:
                if is_dir and not _may_contain(path, walk_filter.include_prefixes):
                    continue
                skip = True

        exclude_info: MatchInfo = ()
        if exclude is not None:
            parent_info = parent.exclude_info if parent else ()
            matched, exclude_info = exclude.matches_using_parent(path, parent_info)
            if matched:
                if is_dir and not (
                    exclude.exclusions
                    and _may_contain(path, walk_filter.exception_prefixes)
                ):
                    continue
                skip = True

        if not skip:
            try:
                entry = maker.make(path, dir_entry)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if parents_pending:
                yield from _pending_parents(stack, maker)
                parents_pending = False
            yield entry

        if is_dir:
            children = _scan_or_none(dir_entry.path, skipped=skip)
            if children is not None:
                parents_pending = parents_pending or skip
                stack.append(
                    _Directory(
                        path,
                        path + "/",
                        children,
                        include_info,
                        exclude_info,
                        dir_entry if skip else None,
                    )
                )


def _may_contain(path: str, prefixes: tuple[str, ...] | None) -> bool:
    """Return True when a pattern could match below the directory at path.

    None stands for patterns with glob characters, which could match
    anywhere.
    """
    if prefixes is None:
        return True
    directory = path + "/"
    return any(prefix.startswith(directory) for prefix in prefixes)


def _pending_parents(stack: list[_Directory], maker: _EntryMaker) -> Iterator[Entry]:
    """Yield the entries of skipped parent directories that now have content."""
    for directory in stack:
        if directory.pending is None:
            continue
        yield maker.make(directory.path, directory.pending)
        directory.pending = None


# --- follow paths -----------------------------------------------------------


def resolve_follow_paths(root: Path, paths: Sequence[str]) -> list[str] | None:
    """Resolve the symlinks along each follow path inside root.

    Returns the sorted, deduplicated list of each path and every symlink
    target met on the way, all relative to root, or None when a path
    resolves to the root itself (then nothing is filtered). A symlink target
    is read as if root were "/", so an absolute target or one that climbs out
    stays inside root. The last element of a path may contain wildcards,
    which select the matching symlinks in its directory.
    """
    resolver = _SymlinkResolver(root)
    for path in paths:
        resolver.add(path)
    return _dedupe_paths(sorted(resolver.resolved, key=os.fsencode))


def _dedupe_paths(paths: list[str]) -> list[str] | None:
    """Drop paths below the previous kept one, or return None if one is ".".

    The input is expected to be sorted, as fsutil expects it, but fsutil also
    applies this to an unsorted list of include patterns, and so does walk.
    """
    kept: list[str] = []
    last = ""
    for path in paths:
        if path == ".":
            return None
        if path.startswith(last + "/"):
            continue
        kept.append(path)
        last = path
    return kept


def _join(*elements: str) -> str:
    """Join and clean slash paths, as Go's filepath.Join does."""
    return go_clean("/".join(element for element in elements if element))


def _contains_wildcards(name: str) -> bool:
    index = 0
    while index < len(name):
        char = name[index]
        if char == "\\":
            index += 1
        elif char in "*?[":
            return True
        index += 1
    return False


class _SymlinkResolver:
    """Resolve follow paths against the unfiltered tree below root."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self.resolved: set[str] = set()

    def add(self, path: str) -> None:
        remaining = _join(".", path)
        current = "."
        while True:
            first, _, remaining = remaining.partition("/")
            current = _join(current, first)
            targets = self._read_symlink(current, allow_wildcard=True)
            if (remaining == "" or targets is not None) and current in self.resolved:
                return
            if targets is not None:
                self.resolved.add(current)
                for target in targets:
                    self.add(_join(target, remaining))
                return
            if remaining == "":
                self.resolved.add(current)
                return

    def _read_symlink(self, path: str, *, allow_wildcard: bool) -> list[str] | None:
        """Return the root-relative targets of the symlink at path, or None."""
        directory, _, base = path.rpartition("/")
        directory = directory or "."
        if allow_wildcard and _contains_wildcards(base):
            return self._read_matching_symlinks(directory, base)

        if path in ("/", "."):
            return None
        try:
            info = os.lstat(self._root / path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat_module.S_ISLNK(info.st_mode):
            return None
        link = go_clean(os.readlink(self._root / path))
        if link.startswith("/"):
            return [link]
        return [_join("/", _join(directory, link))]

    def _read_matching_symlinks(self, directory: str, pattern: str) -> list[str] | None:
        try:
            names = sorted(os.listdir(self._root / directory), key=os.fsencode)
        except (FileNotFoundError, NotADirectoryError):
            return None
        targets: list[str] = []
        for name in names:
            try:
                matched = go_glob_match(pattern, name)
            except ValueError:
                # filepath.Match errors are ignored here, as in fsutil.
                matched = False
            if matched:
                found = self._read_symlink(_join(directory, name), allow_wildcard=False)
                targets.extend(found or ())
        # Go returns a nil slice when no symlink matched, which callers treat
        # like "not a symlink", so the wildcard path stays a pattern.
        return targets or None
