"""Conformance tests for Docker ignore-file pattern matching.

Expected results follow Go's moby/patternmatcher. The multi-pattern and
tree cases were also checked against ``docker buildx build`` 0.13.1 with a
``.dockerignore`` file.
"""

from __future__ import annotations

import pytest

from flense.errors import UserInputError
from flense.patterns import (
    PatternMatcher,
    PatternSyntaxError,
    escape,
    go_clean,
    go_glob_match,
    normalize,
)

# (pattern, path, expected) for a single pattern with parent matching.
SINGLE = [
    # "*" and "?" stay within one path element.
    ("*", "a.py", True),
    ("*", "sub/b.py", True),  # the parent "sub" matches
    ("*.py", "a.py", True),
    ("*.py", "sub/b.py", False),
    ("*/*.py", "sub/b.py", True),
    ("*/*.py", "sub/deep/c.py", False),
    ("a?c", "abc", True),
    ("a?c", "ac", False),
    ("a?c", "a/c", False),
    # "**" spans any number of elements, including none.
    ("**", "anything/at/all", True),
    ("**/*.py", "a.py", True),
    ("**/*.py", "sub/deep/c.py", True),
    ("**/*.py", "a.pyc", False),
    ("sub/**/c.py", "sub/c.py", True),
    ("sub/**/c.py", "sub/deep/c.py", True),
    ("sub/**/c.py", "sub/deep/er/c.py", True),
    ("sub/**", "sub/b.py", True),
    ("sub/**", "sub", False),  # "sub/**" is a prefix match on "sub/"
    ("foo**", "foobar/y", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    # A pattern starting with "**" is a suffix match.
    ("**/foo", "foo", True),
    ("**/foo", "foo/bar", True),
    ("**/foo", "x/foo/bar", True),
    ("**/foo", "x/foobar", False),
    ("**/foo", "foobar/y", False),
    ("**foo", "xfoo", True),
    ("**foo", "a/xfoo", True),
    ("**/x", "x", True),
    ("**/x", "a/x", True),
    ("**/x", "a/xy", False),
    # Root anchoring and element boundaries.
    ("vendor", "vendor", True),
    ("vendor", "vendor/a", True),
    ("vendor", "vendorx/b", False),
    ("vendor", "extensions/vendor/c", False),
    ("log/", "log/x", True),
    ("log/", "blog", False),
    (".git", ".git/HEAD", True),
    (".git", "m/.git/HEAD", False),
    ("**/.git", ".git/HEAD", True),
    ("**/.git", "m/.git/HEAD", True),
    ("**/.git", "m/x.git", False),
    # Cleaning: trailing slashes, "./" and ".." go away.
    ("docs/", "docs", True),
    ("docs/", "docs/a/b.md", True),
    ("a.py/", "a.py", True),
    ("./vendor", "vendor/a", True),
    ("vendor/../sub", "sub/b.py", True),
    ("//vendor", "vendor", False),  # cleans to "/vendor": never matches
    # Character classes.
    ("[a-c]x", "bx", True),
    ("[a-c]x", "dx", False),
    ("[^a]x", "bx", True),
    ("[^a]x", "ax", False),
    ("[!a]x", "!x", True),  # "!" is an ordinary member, not negation
    ("[!a]x", "ax", True),
    ("[!a]x", "bx", False),
    ("[\\]a]", "]", True),
    ("[x\\-]", "-", True),
    ("[[:alpha:]]", "q", True),
    ("[[:alpha:]]", "7", False),
    # Escapes.
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("a\\\\", "a\\", True),
    ("\\d", "7", True),  # Go's regexp reads \d as a digit class
    ("\\d", "d", False),
    # White space at the ends is trimmed, but not inside a class.
    ("  a.txt  ", "a.txt", True),
    ("a[ ]", "a ", True),
    # Characters that are special in a regexp but literal in a pattern.
    ("a(b)c.d+e|f{g}$", "a(b)c.d+e|f{g}$", True),
    ("abc.def", "abcxdef", False),
    ("*.whl", "proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    # "^" outside a class is left unescaped by the Go translation.
    ("a^b", "a^b", True),
    ("a^b*", "a^b", False),
    # File names with spaces and non-ASCII letters.
    ("dir with space", "dir with space/é.txt", True),
    ("**/é.txt", "dir with space/é.txt", True),
    ("?.txt", "é.txt", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), SINGLE)
def test_matches_single_pattern(pattern: str, path: str, expected: bool) -> None:
    assert PatternMatcher([pattern]).matches(path) is expected


# (patterns, path, expected): the last matching pattern decides.
MULTIPLE = [
    (["*", "!**/*.py"], "a.py", False),
    (["*", "!**/*.py"], "a.txt", True),
    (["*", "!**/*.py"], "sub", True),
    (["*", "!**/*.py"], "sub/b.py", False),
    (["*", "!**/*.py"], "sub/deep/c.py", False),
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/bar", False),
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs", "!docs/README.md"], "docs/other.md", True),
    (["!a.py", "a.py"], "a.py", True),
    (["a.py", "!a.py"], "a.py", False),
    (["*.txt", "!a.txt", "a.txt"], "a.txt", True),
    (["sub", "!sub/deep"], "sub/deep/c.py", False),
    (["sub", "!sub/deep"], "sub/b.py", True),
]


@pytest.mark.parametrize(("patterns", "path", "expected"), MULTIPLE)
def test_matches_last_match_wins(
    patterns: list[str], path: str, expected: bool
) -> None:
    assert PatternMatcher(patterns).matches(path) is expected


TREE = [
    "a.py",
    "a.txt",
    "sub",
    "sub/b.py",
    "sub/deep",
    "sub/deep/c.py",
    "util",
    "util/docker",
    "util/docker/web",
    "util/docker/web/foo",
    "x",
    "x/foo",
    "x/foo/bar",
    "x/foobar",
]


@pytest.mark.parametrize(
    "patterns",
    [
        ["*", "!**/*.py"],
        ["**", "!util/docker/web", "util/docker/web/foo"],
        ["**/foo", "!x/foo/bar"],
        ["x", "!x/foo", "x/foo/bar"],
        ["!a.py", "*.py"],
    ],
)
def test_parent_results_agree(patterns: list[str]) -> None:
    """Incremental matching along a pre-order walk gives the full result."""
    matcher = PatternMatcher(patterns)
    infos: dict[str, tuple[bool, ...]] = {}
    for path in TREE:
        parent = path.rpartition("/")[0]
        matched, info = matcher.matches_using_parent(path, infos.get(parent, ()))
        infos[path] = info
        assert matched is matcher.matches(path), path


def test_parent_results_wrong_length() -> None:
    matcher = PatternMatcher(["a", "b"])
    with pytest.raises(ValueError, match="3 values"):
        matcher.matches_using_parent("a/b", (True, False, True))


def test_exclusions_property() -> None:
    assert PatternMatcher(["docs", "!docs/README.md"]).exclusions is True
    assert PatternMatcher(["docs"]).exclusions is False
    assert PatternMatcher(["  !docs/README.md  "]).exclusions is True


def test_empty_patterns_dropped() -> None:
    matcher = PatternMatcher(["docs", "", "   ", "config"])
    assert [p.text for p in matcher.patterns] == ["docs", "config"]


def test_no_patterns_match_nothing() -> None:
    assert PatternMatcher([]).matches("any/path") is False


# Patterns that Go rejects, either in filepath.Match's syntax check or when
# its regexp package compiles the translation.
INVALID = [
    "[",
    "a[",
    "[^",
    "[^bc",
    "[]a]",
    "[-]",
    "[x-]",
    "[-x]",
    "[a-b-c]",
    "\\",
    "a\\",
    "!",
    "[Local-Only]/",  # range l-O is reversed
    "[a-*]",  # "*" expands inside the class to a reversed range a-[
    "[*[]",  # the class closes early and leaves "[" unclosed
    "[[:nope:]]",
    "\\y",  # not a Go regexp escape
    "\\é",
    "\\x41",  # Go accepts these four; flense does not translate them
    "\\pL",
    "\\Qa\\E",
    "\\01",
]


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_pattern_raises(pattern: str) -> None:
    with pytest.raises(PatternSyntaxError) as caught:
        PatternMatcher(["ok", pattern])
    assert repr(pattern) in str(caught.value)


def test_syntax_error_is_user_error() -> None:
    error = PatternSyntaxError("[", "bad character class")
    assert isinstance(error, ValueError)
    assert isinstance(error, UserInputError)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("docs", "docs"),
        ("  docs/  ", "docs"),
        ("/vendor", "vendor"),
        ("//vendor//a/", "vendor/a"),
        ("./a/../b", "b"),
        ("!/docs/README.md", "!docs/README.md"),
        ("! docs", "!docs"),
        ("!./x", "!x"),
        ("/", "/"),
        ("", ""),
        ("   ", ""),
        ("!", "!"),
        ("\u3000a.py\u00a0", "a.py"),
    ],
)
def test_normalize(pattern: str, expected: str) -> None:
    assert normalize(pattern) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "."),
        ("a//b", "a/b"),
        ("a/./b/", "a/b"),
        ("a/../..", ".."),
        ("/../a", "/a"),
        ("//a", "/a"),
        ("../../a/b/..", "../../a"),
    ],
)
def test_go_clean(path: str, expected: str) -> None:
    assert go_clean(path) == expected


LITERALS = [
    "c++.txt",
    "resources/[id].json",
    "a*b.txt",
    "x?y",
    "back\\slash",
    "a^b[1].txt",
    "!important",
    " leading space",
    "trailing space ",
    "é (1).txt",
    "$HOME{x}|y",
    "dots.in.name",
]


@pytest.mark.parametrize("literal", LITERALS)
def test_escape_matches_itself(literal: str) -> None:
    matcher = PatternMatcher([escape(literal)])
    assert matcher.matches(literal) is True
    assert matcher.matches(literal + "/child") is True


ESCAPE_LOOKALIKES = [
    ("a*b.txt", "axxb.txt"),
    ("x?y", "xzy"),
    ("resources/[id].json", "resources/i.json"),
    ("resources/[id].json", "resources/d.json"),
    ("back\\slash", "backslash"),
    ("dots.in.name", "dotsxinxname"),
    ("c++.txt", "c++.txtx"),
]


@pytest.mark.parametrize(("literal", "other"), ESCAPE_LOOKALIKES)
def test_escape_matches_only_itself(literal: str, other: str) -> None:
    assert PatternMatcher([escape(literal)]).matches(other) is False


def test_escape_keeps_exclamation_literal() -> None:
    matcher = PatternMatcher([escape("!important")])
    assert matcher.exclusions is False


def test_unescaped_glob_names_misbehave() -> None:
    """Without escape(), a literal "[id]" is a character class."""
    matcher = PatternMatcher(["resources/[id].json"])
    assert matcher.matches("resources/[id].json") is False
    assert matcher.matches("resources/i.json") is True


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("l*", "l1", True),
        ("*link", "anotherlink", True),
        ("l?", "l12", False),
        ("[^l]*", "l1", False),
        ("[a-c]", "b", True),
        ("[z-a]", "q", False),
        ("\\*", "*", True),
        ("*", "a/b", False),
    ],
)
def test_go_glob_match(pattern: str, name: str, expected: bool) -> None:
    assert go_glob_match(pattern, name) is expected


def test_go_glob_match_bad_pattern() -> None:
    with pytest.raises(ValueError):
        go_glob_match("[", "a")
