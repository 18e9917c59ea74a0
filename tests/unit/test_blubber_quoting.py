"""Go-compatible quoting, command templates, $ expansion and path helpers."""

from __future__ import annotations

import pytest

from flense.blubber import paths
from flense.blubber.quoting import RunTemplateError, format_run, go_quote, join_runs
from flense.blubber.variables import expand_variables

# Expected values are what Go's strconv.Quote returns for the same input.
QUOTES = [
    ("", '""'),
    ("foo bar", '"foo bar"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("C:\\dir", '"C:\\\\dir"'),
    ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
    ("\x00", '"\\x00"'),
    ("\x1b[0m", '"\\x1b[0m"'),
    ("\x7f", '"\\x7f"'),
    ("héllo wörld", '"héllo wörld"'),
    ("日本語", '"日本語"'),
    ("e\u0301", '"e\u0301"'),
    ("\U0001f600", '"\U0001f600"'),
    ("\ufffd", '"\ufffd"'),
    ("\u00a0", '"\\u00a0"'),
    ("\u00ad", '"\\u00ad"'),
    ("\u200b", '"\\u200b"'),
    ("\u2028", '"\\u2028"'),
    ("\ufeff", '"\\ufeff"'),
    ("\ue000", '"\\ue000"'),
    ("\U000e0001", '"\\U000e0001"'),
    ("\ud800", '"\\xed\\xa0\\x80"'),
    (b"\xff", '"\\xff"'),
    (b"a\xc3", '"a\\xc3"'),
    (b"\xc0\x80", '"\\xc0\\x80"'),
    ("$HOME `id`", '"$HOME `id`"'),
]


@pytest.mark.parametrize(("text", "expected"), QUOTES)
def test_go_quote(text: str | bytes, expected: str) -> None:
    assert go_quote(text) == expected


RUNS = [
    ("echo", ["foo bar", "baz"], 'echo "foo bar" "baz"'),
    ("useradd -d %s -u %s", ["/foo", "666", "bar"], 'useradd -d "/foo" -u "666" "bar"'),
    ("chown %s:%s", ["123", "124", "/foo"], 'chown "123":"124" "/foo"'),
    ("mkdir -p", ["/foo", "/bar"], 'mkdir -p "/foo" "/bar"'),
    ("npm install", [], "npm install"),
    ("printf %s", ["a\nb"], 'printf "a\\nb"'),
]


@pytest.mark.parametrize(("template", "arguments", "expected"), RUNS)
def test_format_run(template: str, arguments: list[str], expected: str) -> None:
    assert format_run(template, arguments) == expected


@pytest.mark.parametrize(
    ("template", "arguments"),
    [
        ("date +%s", []),
        ("echo 100%%", []),
        ("%d", ["1"]),
        ("a %s %", ["x", "y"]),
        ("%%%s", ["x", "y"]),
        ("echo 100%% %s", ["x", "y"]),
    ],
)
def test_format_run_rejects_bad_template(template: str, arguments: list[str]) -> None:
    with pytest.raises(RunTemplateError):
        format_run(template, arguments)


def test_join_runs() -> None:
    text = join_runs([("apt-get update", []), ("apt-get install -y", ["curl"])])
    assert text == 'apt-get update && apt-get install -y "curl"'


ENVIRONMENT = {"FOO": "foo", "FOO_BAR": "fb", "$": "pid", "1": "one", "ab1": "x"}

EXPANSIONS = [
    ("$FOO", "foo"),
    ("${FOO}", "foo"),
    ("$FOO_BAR-x", "fb-x"),
    ("${FOO}_BAR", "foo_BAR"),
    ("$ab1", "x"),
    ("$UNSET", ""),
    ("${X:-default}", ""),
    ("$1", "one"),
    ("$12", "one2"),
    ("$$", "pid"),
    ("${$}", "pid"),
    ("$(date)", "$(date)"),
    ("cost $", "cost $"),
    ("a${}b", "ab"),
    ("a${", "a"),
    ("${abc", "abc"),
    ("$ FOO", "$ FOO"),
    ("no dollars", "no dollars"),
]


@pytest.mark.parametrize(("text", "expected"), EXPANSIONS)
def test_expand_variables(text: str, expected: str) -> None:
    assert expand_variables(text, ENVIRONMENT) == expected


PATH_CASES = [
    (paths.clean, "", "."),
    (paths.clean, "//a//b/", "/a/b"),
    (paths.clean, "a/../..", ".."),
    (paths.clean, "/..", "/"),
    (paths.clean, "./src/", "src"),
    (paths.directory, "./a/b", "a"),
    (paths.directory, "src/", "src"),
    (paths.directory, "file", "."),
    (paths.directory, "/file", "/"),
    (paths.base, "/", "/"),
    (paths.base, "a/b/", "b"),
    (paths.base, "", "."),
]


@pytest.mark.parametrize(("function", "argument", "expected"), PATH_CASES)
def test_go_path(function, argument: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert function(argument) == expected


@pytest.mark.parametrize(
    ("directory", "destination", "expected"),
    [
        ("/srv/app", ".", "/srv/app"),
        ("/srv/app", "./", "/srv/app/"),
        ("/srv/app", "dist/", "/srv/app/dist/"),
        ("/srv/app", "dist/.", "/srv/app/dist/."),
        ("/srv/app", "/abs", "/abs"),
        ("/", ".", "/"),
        ("/", "./", "/"),
    ],
)
def test_resolve_destination(directory: str, destination: str, expected: str) -> None:
    assert paths.resolve_destination(directory, destination) == expected
