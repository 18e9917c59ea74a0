"""Docker ignore-file (``.dockerignore``) pattern matching.

The semantics are those of Go's ``github.com/moby/patternmatcher`` (v0.6, read
at commit 5a6d842), which BuildKit's file sender (``tonistiigi/fsutil``) uses
for the include and exclude patterns of a local source. A pattern is matched
against a slash-separated path relative to the context root:

* ``*`` matches any run of characters except ``/``, ``?`` one character
  except ``/``, ``[...]`` a character class (``[^...]`` negates it, ``!`` is
  an ordinary member), ``\\`` escapes the next character.
* ``**`` matches any number of path elements, including none. A pattern that
  starts with ``**`` matches the rest as a suffix of the path, and one that
  ends with ``**`` (after plain characters only) as a prefix.
* Patterns are anchored at the root: ``vendor`` matches ``vendor`` but not
  ``a/vendor``.
* A path also matches when one of its parent directories matches.
* A leading ``!`` makes an exception. The last pattern that matches decides.

The matcher translates each pattern into the same regular expression as the
Go code and then into Python ``re`` syntax, so the corner cases of the Go
translation carry over. A ``^`` outside a class anchors, ``[!a]`` is the class
of ``!`` and ``a``, and a ``*`` inside a class expands to a class of its own.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from flense.errors import UserInputError

__all__ = [
    "MatchInfo",
    "Pattern",
    "PatternMatcher",
    "PatternSyntaxError",
    "escape",
    "go_clean",
    "go_glob_match",
    "normalize",
    "validate_glob",
]

# Per-pattern results for a parent directory, as MatchesUsingParentResults
# keeps them. The empty tuple means that no parent results are known.
MatchInfo = tuple[bool, ...]

# Characters that Go's strings.TrimSpace removes (unicode.IsSpace).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# Characters that are literal in a glob but special in a Go regexp, so the
# translation escapes them.
_REGEX_ONLY_SPECIALS = frozenset(".+()|{}$")

# Characters that escape() protects: the glob syntax, plus "^" because the
# Go translation leaves it unescaped and it would anchor mid-pattern.
_GLOB_SPECIALS = frozenset("*?[]\\^")


class PatternSyntaxError(UserInputError, ValueError):
    """A pattern that Go's patternmatcher or regexp package rejects."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(
            f"invalid pattern {pattern!r}: {reason} "
            "(put a backslash before a literal *, ?, [, ] or \\)"
        )
        self.pattern = pattern
        self.reason = reason


def go_trim_space(text: str) -> str:
    """Strip leading and trailing white space as Go's strings.TrimSpace does."""
    return text.strip(_GO_SPACE)


def go_clean(path: str) -> str:
    """Return the shortest equivalent of a slash path, as Go's path.Clean.

    Unlike posixpath.normpath, a leading "//" collapses to "/".
    """
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for element in path.split("/"):
        if element in ("", "."):
            continue
        if element == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(element)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def go_dir(path: str) -> str:
    """Return all but the last element of a slash path, as Go's path.Dir."""
    return go_clean(path[: path.rfind("/") + 1])


def normalize(pattern: str) -> str:
    """Normalize one pattern as Docker reads it from an ignore file.

    Trims white space, cleans the path and drops a leading "/", keeping a
    leading "!". This is what moby/patternmatcher's ignorefile.ReadAll does
    to each line, while PatternMatcher itself only trims and cleans.
    """
    pattern = go_trim_space(pattern)
    if pattern == "":
        return ""
    invert = pattern.startswith("!")
    if invert:
        pattern = go_trim_space(pattern[1:])
    if pattern:
        pattern = go_clean(pattern)
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
    return "!" + pattern if invert else pattern


def escape(literal: str) -> str:
    """Turn a literal relative path into a pattern that matches only that path.

    Escapes ``* ? [ ] \\ ^`` and a leading ``!``. White space at either end,
    which pattern trimming would drop, becomes a one-character class.
    """
    pieces: list[str] = []
    last = len(literal) - 1
    for index, char in enumerate(literal):
        at_end = index == 0 or index == last
        if at_end and char in _GO_SPACE:
            pieces.append(f"[{char}]")
        elif char in _GLOB_SPECIALS or (index == 0 and char == "!"):
            pieces.append("\\" + char)
        else:
            pieces.append(char)
    return "".join(pieces)


# --- Go path/filepath.Match syntax ------------------------------------------


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    """Split off leading stars and the chunk up to the next unbracketed star."""
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_range = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 < len(pattern):
                index += 1
        elif char == "[":
            in_range = True
        elif char == "]":
            in_range = False
        elif char == "*" and not in_range:
            break
        index += 1
    return star, pattern[:index], pattern[index:]


def _class_char_end(chunk: str, index: int) -> int:
    """Return the index after one class member, as Go's getEsc checks it."""
    if index >= len(chunk) or chunk[index] in "-]":
        raise ValueError("invalid character class")
    if chunk[index] == "\\":
        index += 1
        if index >= len(chunk):
            raise ValueError("trailing backslash in a character class")
    if "\udc80" <= chunk[index] <= "\udcff":
        raise ValueError("invalid UTF-8 in a character class")
    index += 1
    if index >= len(chunk):
        raise ValueError("unterminated character class")
    return index


def _check_chunk(chunk: str) -> None:
    index = 0
    while index < len(chunk):
        char = chunk[index]
        if char == "[":
            index += 1
            if index < len(chunk) and chunk[index] == "^":
                index += 1
            ranges = 0
            while True:
                if index < len(chunk) and chunk[index] == "]" and ranges > 0:
                    index += 1
                    break
                index = _class_char_end(chunk, index)
                if chunk[index] == "-":
                    index = _class_char_end(chunk, index + 1)
                ranges += 1
        elif char == "\\":
            index += 1
            if index >= len(chunk):
                raise ValueError("trailing backslash")
            index += 1
        else:
            index += 1


def validate_glob(pattern: str) -> None:
    """Raise ValueError where Go's filepath.Match reports ErrBadPattern.

    Go 1.16 and later check every chunk of the pattern, whatever the name.
    """
    rest = pattern
    while rest:
        _, chunk, rest = _scan_chunk(rest)
        _check_chunk(chunk)


def _glob_class_to_regex(pattern: str, index: int) -> tuple[str, int]:
    """Translate the filepath.Match class at pattern[index] (after "[")."""
    negated = index < len(pattern) and pattern[index] == "^"
    if negated:
        index += 1
    members: list[str] = []
    count = 0
    while not (pattern[index] == "]" and count > 0):
        low, index = _glob_class_member(pattern, index)
        high = low
        if pattern[index] == "-":
            high, index = _glob_class_member(pattern, index + 1)
        count += 1
        # Go accepts a reversed range such as "z-a", which matches nothing.
        if low <= high:
            members.append(f"{re.escape(low)}-{re.escape(high)}")
    index += 1
    if not members:
        return ("." if negated else "(?!)"), index
    # A negated class in filepath.Match also matches "/".
    return ("[^" if negated else "[") + "".join(members) + "]", index


def _glob_class_member(pattern: str, index: int) -> tuple[str, int]:
    if pattern[index] == "\\":
        index += 1
    return pattern[index], index + 1


def _glob_to_regex(pattern: str) -> str:
    pieces: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "[":
            piece, index = _glob_class_to_regex(pattern, index + 1)
            pieces.append(piece)
            continue
        if char == "*":
            pieces.append("[^/]*")
        elif char == "?":
            pieces.append("[^/]")
        elif char == "\\":
            index += 1
            pieces.append(re.escape(pattern[index]))
        else:
            pieces.append(re.escape(char))
        index += 1
    return "".join(pieces)


def go_glob_match(pattern: str, name: str) -> bool:
    """Match a name against a pattern as Go's path/filepath.Match on Unix.

    Raises ValueError for a malformed pattern.
    """
    validate_glob(pattern)
    return re.fullmatch(_glob_to_regex(pattern), name, re.DOTALL) is not None


# --- patternmatcher's glob-to-regexp translation ----------------------------


class _MatchKind(enum.Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    REGEX = "regex"


def _to_go_regex(pattern: str) -> tuple[_MatchKind, str]:
    """Translate a cleaned pattern into a Go regexp, as patternmatcher does."""
    regex = "^"
    kind = _MatchKind.EXACT
    index = 0
    iteration = 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            if index < len(pattern) and pattern[index] == "*":
                index += 1
                # "**/" is treated as "**": the slash is consumed.
                if index < len(pattern) and pattern[index] == "/":
                    index += 1
                if index == len(pattern):
                    # A trailing "**" matches everything below.
                    if kind is _MatchKind.EXACT:
                        kind = _MatchKind.PREFIX
                    else:
                        regex += ".*"
                        kind = _MatchKind.REGEX
                else:
                    regex += "(.*/)?"
                    kind = _MatchKind.REGEX
                if iteration == 0:
                    kind = _MatchKind.SUFFIX
            else:
                regex += "[^/]*"
                kind = _MatchKind.REGEX
        elif char == "?":
            regex += "[^/]"
            kind = _MatchKind.REGEX
        elif char in _REGEX_ONLY_SPECIALS:
            regex += "\\" + char
        elif char == "\\":
            # validate_glob rejected a trailing backslash already.
            regex += "\\" + pattern[index]
            index += 1
            kind = _MatchKind.REGEX
        elif char in "[]":
            regex += char
            kind = _MatchKind.REGEX
        else:
            regex += char
        iteration += 1
    return kind, regex + "$"


# --- Go regexp syntax (the subset the translation produces) -----------------

_ASCII_CLASSES: dict[str, list[tuple[str, str]]] = {
    "alnum": [("0", "9"), ("A", "Z"), ("a", "z")],
    "alpha": [("A", "Z"), ("a", "z")],
    "ascii": [("\x00", "\x7f")],
    "blank": [("\t", "\t"), (" ", " ")],
    "cntrl": [("\x00", "\x1f"), ("\x7f", "\x7f")],
    "digit": [("0", "9")],
    "graph": [("!", "~")],
    "lower": [("a", "z")],
    "print": [(" ", "~")],
    "punct": [("!", "/"), (":", "@"), ("[", "`"), ("{", "~")],
    "space": [("\t", "\r"), (" ", " ")],
    "upper": [("A", "Z")],
    "word": [("0", "9"), ("A", "Z"), ("a", "z"), ("_", "_")],
    "xdigit": [("0", "9"), ("A", "F"), ("a", "f")],
}

# Go's Perl classes are ASCII-only, unlike Python's \d, \s and \w on str.
_PERL_CLASSES = {
    "d": _ASCII_CLASSES["digit"],
    "s": [("\t", "\n"), ("\f", "\r"), (" ", " ")],
    "w": _ASCII_CLASSES["word"],
}

_CONTROL_ESCAPES = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _ranges_to_class(ranges: list[tuple[str, str]], negated: bool) -> str:
    members = "".join(
        re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}"
        for low, high in ranges
    )
    return ("[^" if negated else "[") + members + "]"


def _go_escape_char(regex: str, index: int) -> tuple[str, int]:
    """Decode the single-character escape at regex[index] (after "\\")."""
    if index >= len(regex):
        raise ValueError("trailing backslash at end of expression")
    char = regex[index]
    if char < "\x80" and not char.isalnum():
        return char, index + 1
    if char in _CONTROL_ESCAPES:
        return _CONTROL_ESCAPES[char], index + 1
    # NOTE: Go also accepts \x.., octal, \p{..} and \Q..\E here. flense
    # rejects them instead of translating them.
    raise ValueError(f"escape sequence \\{char} is not supported")


def _go_class(regex: str, index: int) -> tuple[str, int]:
    """Translate the Go regexp class that starts after the "[" at index."""
    negated = index < len(regex) and regex[index] == "^"
    if negated:
        index += 1
    ranges: list[tuple[str, str]] = []
    first = True
    while first or index >= len(regex) or regex[index] != "]":
        if index >= len(regex):
            raise ValueError("missing closing ] in a character class")
        first = False
        if regex.startswith("[:", index):
            end = regex.find(":]", index + 2)
            if end >= 0:
                name = regex[index + 2 : end]
                class_negated = name.startswith("^")
                name = name.removeprefix("^")
                if name not in _ASCII_CLASSES:
                    raise ValueError(f"unknown character class [:{name}:]")
                if class_negated:
                    # NOTE: a negated POSIX class inside a class is rare
                    # enough that flense does not translate it.
                    raise ValueError("negated POSIX classes are not supported")
                ranges.extend(_ASCII_CLASSES[name])
                index = end + 2
                continue
        if regex[index] == "\\" and index + 1 < len(regex):
            perl = regex[index + 1]
            if perl.lower() in _PERL_CLASSES:
                if perl.isupper():
                    raise ValueError(f"\\{perl} inside a class is not supported")
                ranges.extend(_PERL_CLASSES[perl])
                index += 2
                continue
        low, index = _go_class_char(regex, index)
        high = low
        if index + 1 < len(regex) and regex[index] == "-" and regex[index + 1] != "]":
            high, index = _go_class_char(regex, index + 1)
            if high < low:
                raise ValueError(f"invalid character class range {low}-{high}")
        ranges.append((low, high))
    return _ranges_to_class(ranges, negated), index + 1


def _go_class_char(regex: str, index: int) -> tuple[str, int]:
    if index >= len(regex):
        raise ValueError("missing closing ] in a character class")
    if regex[index] == "\\":
        return _go_escape_char(regex, index + 1)
    return regex[index], index + 1


def _go_regex_to_python(regex: str) -> str:
    """Rewrite a Go regexp produced by _to_go_regex in Python re syntax."""
    pieces: list[str] = []
    index = 0
    while index < len(regex):
        char = regex[index]
        if char == "[":
            piece, index = _go_class(regex, index + 1)
            pieces.append(piece)
            continue
        if char == "\\":
            following = regex[index + 1] if index + 1 < len(regex) else ""
            if following.lower() in _PERL_CLASSES and following:
                negated = following.isupper()
                ranges = _PERL_CLASSES[following.lower()]
                pieces.append(_ranges_to_class(ranges, negated))
                index += 2
                continue
            if following in ("A", "z", "b", "B"):
                # Go's \b is an ASCII word boundary, as Python's under re.ASCII.
                pieces.append("\\Z" if following == "z" else "\\" + following)
                index += 2
                continue
            literal, index = _go_escape_char(regex, index + 1)
            pieces.append(re.escape(literal))
            continue
        if char == "$":
            # Go's "$" without the multi-line flag matches only at the end of
            # the text, but Python's also matches before a final newline.
            pieces.append("\\Z")
        elif char == "]":
            pieces.append("\\]")
        else:
            pieces.append(char)
        index += 1
    return "".join(pieces)


# --- patterns and the matcher ----------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Pattern:
    """One compiled pattern: its cleaned text and whether it is an exception."""

    text: str
    exclusion: bool
    _kind: _MatchKind
    _operand: str
    _regex: re.Pattern[str] | None

    @classmethod
    def compile(cls, raw: str, text: str, exclusion: bool) -> Pattern:
        """Compile a cleaned pattern. raw is the pattern as written, for errors."""
        try:
            validate_glob(text)
            kind, go_regex = _to_go_regex(text)
            regex = None
            if kind is _MatchKind.REGEX:
                python_regex = _go_regex_to_python(go_regex)
                regex = re.compile(python_regex, re.ASCII)
        except (ValueError, re.error) as error:
            raise PatternSyntaxError(raw, str(error)) from error

        operand = text
        if kind is _MatchKind.PREFIX:
            operand = text[:-2]
        elif kind is _MatchKind.SUFFIX:
            operand = text[2:]
        return cls(text, exclusion, kind, operand, regex)

    def match(self, path: str) -> bool:
        """Match the path itself, without looking at its parents."""
        kind = self._kind
        if kind is _MatchKind.REGEX:
            return self._regex.match(path) is not None  # type: ignore[union-attr]
        if kind is _MatchKind.EXACT:
            return path == self._operand
        if kind is _MatchKind.PREFIX:
            return path.startswith(self._operand)
        # A suffix pattern "**/foo" also matches "foo" at the top level.
        suffix = self._operand
        if path.endswith(suffix):
            return True
        return suffix.startswith("/") and path == suffix[1:]

    def match_or_parent(self, path: str) -> bool:
        """Match the path or one of its parent directories."""
        if self.match(path):
            return True
        parent = go_dir(path)
        if parent == ".":
            return False
        elements = parent.split("/")
        for depth in range(1, len(elements) + 1):
            if self.match("/".join(elements[:depth])):
                return True
        return False

    def __str__(self) -> str:
        return self.text


class PatternMatcher:
    """An ordered list of patterns in which the last matching one decides.

    Patterns are trimmed and cleaned as Go's patternmatcher.New does, but a
    leading "/" is kept, so pass patterns through normalize() first when they
    come from a user.
    """

    __slots__ = ("_patterns", "_exclusions")

    def __init__(self, patterns: Sequence[str]) -> None:
        compiled: list[Pattern] = []
        exclusions = False
        for raw in patterns:
            text = go_trim_space(raw)
            if text == "":
                continue
            text = go_clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise PatternSyntaxError(
                        raw, 'an exclusion needs a pattern after "!"'
                    )
                text = text[1:]
                exclusions = True
            compiled.append(Pattern.compile(raw, text, exclusion))
        self._patterns = tuple(compiled)
        self._exclusions = exclusions

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        """The compiled patterns in order, empty ones dropped."""
        return self._patterns

    @property
    def exclusions(self) -> bool:
        """True when any pattern starts with "!"."""
        return self._exclusions

    def matches(self, path: str) -> bool:
        """Match a clean slash path relative to the root, or one of its parents.

        This is Go's MatchesOrParentMatches.
        """
        matched = False
        for pattern in self._patterns:
            # An inclusion cannot change a match and an exclusion cannot
            # change a non-match, so skip the evaluation.
            if pattern.exclusion != matched:
                continue
            if pattern.match_or_parent(path):
                matched = not pattern.exclusion
        return matched

    def matches_using_parent(
        self, path: str, parent: MatchInfo = ()
    ) -> tuple[bool, MatchInfo]:
        """Match a path, reusing the per-pattern results of its parent directory.

        This is Go's MatchesUsingParentResults. Pass the MatchInfo that the
        call for the parent directory returned, or () when the parent was not
        matched. With (), every parent of the path is checked. A pattern
        that the parent matched counts as matched without evaluation. A
        pattern skipped by the last-match-wins shortcut is recorded as not
        matched, exactly as the Go code records it.
        """
        patterns = self._patterns
        if parent and len(parent) != len(patterns):
            raise ValueError(
                f"parent match results have {len(parent)} values, "
                f"expected {len(patterns)}"
            )
        matched = False
        results = [False] * len(patterns)
        for index, pattern in enumerate(patterns):
            match = parent[index] if parent else False
            if not match:
                if pattern.exclusion != matched:
                    continue
                # Without parent results, every parent is checked as well.
                match = pattern.match(path) if parent else pattern.match_or_parent(path)
            results[index] = match
            if match:
                matched = not pattern.exclusion
        return matched, tuple(results)

    def __repr__(self) -> str:
        texts = [("!" if p.exclusion else "") + p.text for p in self._patterns]
        return f"PatternMatcher({texts!r})"
