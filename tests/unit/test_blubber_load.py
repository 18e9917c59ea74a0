"""Reading and validating Blubber v4 files: values, and errors with locations."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flense.blubber import compile_variant, load_config
from flense.blubber.config import (
    DEFAULT_LIVES,
    Artifact,
    Builder,
    Cache,
    Mount,
    Node,
    Python,
)
from flense.errors import UserInputError


def load_text(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "blubber.yaml"
    path.write_text(text)
    return load_config(path)


def first_line(tmp_path: Path, text: str, variant: str | None = None) -> str:
    path = tmp_path / "blubber.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError) as caught:
        config = load_config(path)
        if variant is not None:
            compile_variant(config, variant)
    return str(caught.value).splitlines()[0].removeprefix(f"{path}:")


# (name, file text, variant to compile or None, expected first line after the path)
ERRORS = [
    (
        "version v3",
        "version: v3\nvariants: {dev: {}}\n",
        None,
        '1:10: version: "v3" is not a supported config version: flense reads '
        "Blubber version v4 files only",
    ),
    (
        "version missing",
        "base: debian\nvariants: {dev: {}}\n",
        None,
        "1:1: version: missing; add 'version: v4' at the top of the file",
    ),
    (
        "unknown key",
        "version: v4\nnewphone: whodis\n",
        None,
        '2:1: newphone: unknown key "newphone" in the top level; valid keys are apt, '
        "arguments, base, builder, builders, entrypoint, lives, node, php, python, "
        "runs, variants, version",
    ),
    (
        "unknown key near",
        "version: v4\nvariants:\n  dev:\n    rnus: {}\n",
        None,
        '4:5: variants.dev.rnus: unknown key "rnus" in variants.dev; did you mean '
        '"runs"?',
    ),
    (
        "key case",
        "version: v4\nBase: debian\n",
        None,
        '2:1: Base: unknown key "Base" in the top level; did you mean "base"?',
    ),
    (
        "includes at top",
        "version: v4\nincludes: [dev]\n",
        None,
        '2:1: includes: unknown key "includes" in the top level; includes and copies '
        "are allowed only inside a variant, so move it under variants.<name>",
    ),
    (
        "variant name space",
        "version: v4\nvariants:\n  foo bar: {}\n",
        None,
        '3:3: variants: "foo bar" is not a valid variant name: use at least 3 letters, '
        'digits, "-" and ".", starting with a letter and ending with a letter or digit',
    ),
    (
        "variant name short",
        "version: v4\nvariants:\n  ab: {}\n",
        None,
        '3:3: variants: "ab" is not a valid variant name: use at least 3 letters, '
        'digits, "-" and ".", starting with a letter and ending with a letter or digit',
    ),
    (
        "variant null",
        "version: v4\nvariants:\n  dev:\n",
        None,
        "3:7: variants.dev: expected a mapping, not null (write {} for an empty one)",
    ),
    (
        "includes unknown",
        "version: v4\nvariants:\n  build: {}\n  dev:\n    includes: [build, nope]\n",
        None,
        '5:23: variants.dev.includes[1]: "nope" is not a defined variant; defined '
        "variants are build, dev",
    ),
    (
        "includes near spelling",
        "version: v4\nvariants:\n  build: {}\n  dev:\n    includes: [biuld]\n",
        None,
        '5:16: variants.dev.includes[0]: "biuld" is not a defined variant; did you '
        'mean "build"?',
    ),
    (
        "from invalid",
        "version: v4\nvariants:\n  dev:\n    copies:\n"
        "      - {from: foo bar, source: /a, destination: /b}\n",
        None,
        '5:16: variants.dev.copies[0].from: "foo bar" is not a valid image reference '
        "or known variant: write local, a variant name or an image reference",
    ),
    (
        "from null",
        "version: v4\nvariants:\n  dev:\n    copies:\n"
        "      - {from: ~, source: /a, destination: /b}\n",
        None,
        "5:16: variants.dev.copies[0].from: missing; write local, a variant name or "
        "an image reference",
    ),
    (
        "source missing",
        "version: v4\nvariants:\n  build: {}\n  dev:\n    copies:\n"
        "      - {from: build, destination: /b}\n",
        None,
        "6:36: variants.dev.copies[0].source: missing: source is required when "
        "destination is set",
    ),
    (
        "local source absolute",
        "version: v4\nvariants:\n  dev:\n    copies:\n"
        "      - {from: local, source: /abs, destination: x}\n",
        None,
        '5:31: variants.dev.copies[0].source: "/abs" is outside the build context: a '
        'path copied from "local" must be relative and must not start with ".."',
    ),
    (
        "local requirement parent",
        "version: v4\nbuilder:\n  requirements: [../secret]\n",
        None,
        '3:18: builder.requirements[0]: "../secret" is outside the build context: a '
        'path copied from "local" must be relative and must not start with ".."',
    ),
    (
        "local mount parent",
        "version: v4\nbuilder:\n  command: [ls]\n"
        "  mounts: [{from: local, source: ../B, destination: /mnt/b}]\n",
        None,
        '4:34: builder.mounts[0].source: "../B" is outside the build context: a path '
        'mounted from "local" must be relative and must not start with ".."',
    ),
    (
        "local mount absolute",
        "version: v4\nvariants:\n  dev:\n    builder:\n      command: [ls]\n"
        "      mounts:\n        - {from: local, source: /B}\n",
        None,
        '7:33: variants.dev.builder.mounts[0].source: "/B" is outside the build '
        'context: a path mounted from "local" must be relative and must not start '
        'with ".."',
    ),
    (
        "local mount in custom builder",
        "version: v4\nbuilders:\n  - custom:\n      command: [ls]\n"
        "      mounts: [{from: local, source: a/../../B}]\n",
        None,
        '5:38: builders[0].custom.mounts[0].source: "a/../../B" is outside the build '
        'context: a path mounted from "local" must be relative and must not start '
        'with ".."',
    ),
    (
        "local requirement in builders entry",
        "version: v4\nbuilders:\n  - python:\n      version: python3\n"
        "      requirements: [{from: local, source: ../req.txt}]\n",
        None,
        '5:44: builders[0].python.requirements[0].source: "../req.txt" is outside the '
        'build context: a path copied from "local" must be relative and must not '
        'start with ".."',
    ),
    (
        "copies duplicates",
        "version: v4\nvariants:\n  aaa: {}\n  bbb: {}\n  dev:\n"
        "    copies: [aaa, bbb, aaa]\n",
        None,
        "6:24: variants.dev.copies[2]: duplicates entry 0; a list cannot contain the "
        "same entry twice, so remove one",
    ),
    (
        "copies mixed forms",
        "version: v4\nvariants:\n  build: {}\n  dev:\n"
        "    copies: [local, {from: build}]\n",
        None,
        "5:21: variants.dev.copies[1]: copies mixes variant names and {from, source, "
        "destination} entries, which Blubber 1.8 cannot read; write every entry as a "
        "mapping, e.g. {from: build}",
    ),
    (
        "lives in root",
        "version: v4\nlives:\n  in: /\n",
        None,
        '3:7: lives.in: "/" is not a valid absolute non-root path: write an absolute '
        "path other than /, such as /srv/app",
    ),
    (
        "lives in dotdot",
        "version: v4\nlives:\n  in: /foo/..\n",
        None,
        '3:7: lives.in: "/foo/.." is not a valid absolute non-root path: write an '
        "absolute path other than /, such as /srv/app",
    ),
    (
        "lives in relative",
        "version: v4\nlives:\n  in: rel\n",
        None,
        '3:7: lives.in: "rel" is not a valid absolute non-root path: write an '
        "absolute path other than /, such as /srv/app",
    ),
    (
        "runs as root",
        "version: v4\nvariants:\n  build:\n    runs:\n      as: root\n",
        None,
        '5:11: variants.build.runs.as: "root" is not a valid user name: Blubber does '
        'not allow "root" here, so name a non-root user such as "somebody"',
    ),
    (
        "runs as short",
        "version: v4\nruns: {as: fo}\n",
        None,
        '2:12: runs.as: "fo" is not a valid user name: it is too short (use at least 3 '
        "characters)",
    ),
    (
        "runs as space",
        "version: v4\nruns: {as: foo bar}\n",
        None,
        '2:12: runs.as: "foo bar" is not a valid user name: " " is not allowed (use '
        'ASCII letters, digits, "-" and ".")',
    ),
    (
        "runs as underscore",
        "version: v4\nruns: {as: foo_bar}\n",
        None,
        '2:12: runs.as: "foo_bar" is not a valid user name: "_" is not allowed (use '
        'ASCII letters, digits, "-" and ".")',
    ),
    (
        "runs as two characters not allowed",
        "version: v4\nruns: {as: 'a@b_c@'}\n",
        None,
        '2:12: runs.as: "a@b_c@" is not a valid user name: "@" and "_" are not '
        'allowed (use ASCII letters, digits, "-" and ".")',
    ),
    (
        "runs as digit first",
        "version: v4\nruns: {as: 1abc}\n",
        None,
        '2:12: runs.as: "1abc" is not a valid user name: it must start with an ASCII '
        "letter",
    ),
    (
        "runs as dash last",
        "version: v4\nruns: {as: abc-}\n",
        None,
        '2:12: runs.as: "abc-" is not a valid user name: it must not end with "-"',
    ),
    (
        "runs as several problems",
        "version: v4\nruns: {as: _.}\n",
        None,
        '2:12: runs.as: "_." is not a valid user name: "_" is not allowed (use ASCII '
        'letters, digits, "-" and "."), it is too short (use at least 3 characters), '
        'it must start with an ASCII letter, and it must not end with "."',
    ),
    (
        "lives as dot last",
        "version: v4\nvariants:\n  build:\n    lives: {as: app.}\n",
        None,
        '4:17: variants.build.lives.as: "app." is not a valid user name: it must not '
        'end with "."',
    ),
    (
        "lives as root",
        "version: v4\nlives: {as: root}\n",
        None,
        '2:13: lives.as: "root" is not a valid user name: Blubber does not allow '
        '"root" here, so name a non-root user such as "somebody"',
    ),
    (
        "environment dash",
        "version: v4\nruns:\n  environment: {foo-bar: x}\n",
        None,
        '3:17: runs.environment: "foo-bar" is not a valid environment variable name: '
        'use at least 2 letters, digits and "_", not starting with a digit',
    ),
    (
        "environment one letter",
        "version: v4\nruns:\n  environment: {A: x}\n",
        None,
        '3:17: runs.environment: "A" is not a valid environment variable name: use at '
        'least 2 letters, digits and "_", not starting with a digit',
    ),
    (
        "environment number value",
        "version: v4\nruns:\n  environment: {AB: 1}\n",
        None,
        "3:21: runs.environment.AB: expected a string, not the number 1; quote the "
        "value to use it as text",
    ),
    (
        "apt package",
        "version: v4\napt:\n  packages: [bar_baz]\n",
        None,
        '3:14: apt.packages[0]: "bar_baz" is not a valid Debian package name: write '
        "NAME, NAME=VERSION or NAME/RELEASE with a lowercase NAME of at least 2 "
        "characters",
    ),
    (
        "apt package in release map",
        "version: v4\napt:\n  packages:\n    bookworm: [ok, Bad]\n",
        None,
        '4:20: apt.packages.bookworm[1]: "Bad" is not a valid Debian package name: '
        "write NAME, NAME=VERSION or NAME/RELEASE with a lowercase NAME of at least 2 "
        "characters",
    ),
    (
        "apt proxy scheme",
        "version: v4\napt:\n  proxies: [ftp://x]\n",
        None,
        '3:13: apt.proxies[0]: "ftp://x" is not a valid HTTP/HTTPS URL: write a URL '
        "that starts with http:// or https://",
    ),
    (
        "apt source distribution",
        "version: v4\napt:\n  sources: [{url: 'http://x'}]\n",
        None,
        "3:13: apt.sources[0].distribution: missing; write the release name, e.g. "
        "bookworm",
    ),
    (
        "node env",
        "version: v4\nnode:\n  env: foo bar\n",
        None,
        '3:8: node.env: "foo bar" is not a valid Node environment name: use ASCII '
        "letters and digits only",
    ),
    (
        "base reference",
        "version: v4\nbase: foo fighter\n",
        None,
        '2:7: base: "foo fighter" is not a valid image reference: write a lowercase '
        "repository name with an optional registry, :tag and @digest, e.g. "
        "debian:bookworm",
    ),
    (
        "poetry bare version",
        "version: v4\npython:\n  poetry: {version: '1.5.1'}\n",
        None,
        '3:21: python.poetry.version: "1.5.1" is not a valid Python package version '
        "specification: write one or more comma-separated constraints such as "
        '"==1.5.1" or ">=1.2,<2"',
    ),
    (
        "uid negative",
        "version: v4\nlives: {uid: -1}\n",
        None,
        "2:14: lives.uid: -1 is out of range: write a number from 0 to "
        "18446744073709551615",
    ),
    (
        "uid text",
        "version: v4\nlives: {uid: abc}\n",
        None,
        '2:14: lives.uid: expected a whole number, not the string "abc"',
    ),
    (
        "uid above uint64 as written",
        "version: v4\nlives: {uid: 99999999999999999999999}\n",
        None,
        "2:14: lives.uid: 99999999999999999999999 is out of range: write a number "
        "from 0 to 18446744073709551615",
    ),
    (
        "gid above uint64 with underscores",
        "version: v4\nruns:\n  gid: 1_000_000_000_000_000_000_000 # big\n",
        None,
        "3:8: runs.gid: 1_000_000_000_000_000_000_000 is out of range: write a "
        "number from 0 to 18446744073709551615",
    ),
    (
        "base scratch",
        "version: v4\nvariants:\n  dev: {base: scratch}\n",
        None,
        '3:15: variants.dev.base: "scratch" is not an image that can be pulled: '
        "leave out base for a variant that starts from an empty filesystem",
    ),
    (
        "base docker.io scratch",
        "version: v4\nbase: docker.io/library/scratch:latest\n",
        None,
        '2:7: base: "docker.io/library/scratch:latest" is not an image that can be '
        "pulled: leave out base for a variant that starts from an empty filesystem",
    ),
    (
        "copies from scratch",
        "version: v4\nvariants:\n  dev:\n    copies: [{from: scratch, source: /a}]\n",
        None,
        '4:21: variants.dev.copies[0].from: "scratch" is not an image that can be '
        "pulled, and an empty filesystem has nothing to copy or mount: remove the "
        "entry",
    ),
    (
        "entrypoint null",
        "version: v4\nentrypoint: ~\n",
        None,
        "2:13: entrypoint: expected a list, not null",
    ),
    (
        "command and script",
        "version: v4\nbuilder:\n  command: [make]\n  script: make\n",
        None,
        "4:11: builder.script: cannot be combined with builder.command; a builder "
        "runs either a command or a script, so remove one",
    ),
    (
        "command empty string",
        "version: v4\nbuilder: {command: ''}\n",
        None,
        "2:20: builder.command: is empty; write the command to run, or remove the key",
    ),
    (
        "command percent",
        "version: v4\nbuilder:\n  command: date +%s\n",
        None,
        '3:12: builder.command: the command "date +%s" contains 1 format verb(s) but '
        "only 0 argument(s) follow it: Blubber 1.8 reads % in the first word of a "
        "command as a format verb; move the command into a script builder, which "
        "runs it verbatim",
    ),
    (
        "cache access",
        "version: v4\nbuilder:\n  caches: [{destination: /c, access: open}]\n",
        None,
        '3:38: builder.caches[0].access: "open" is not a cache access mode: write '
        "shared, locked or private",
    ),
    (
        "builders with node",
        "version: v4\nvariants:\n  dev:\n    node: {requirements: [package.json]}\n"
        "    builders:\n      - custom: {command: [make]}\n",
        None,
        "4:11: variants.dev.node: cannot be combined with variants.dev.builders in "
        "one variant (after includes are merged); move the node settings into a "
        "builders entry",
    ),
    (
        "builders with inherited node",
        "version: v4\nnode: {requirements: [package.json]}\nvariants:\n  dev:\n"
        "    builders:\n      - custom: {command: [make]}\n",
        "dev",
        "2:7: node: cannot be combined with variants.dev.builders in one variant "
        "(after includes are merged); move the node settings into a builders entry",
    ),
    (
        "builders repeated python",
        "version: v4\nbuilders:\n  - python: {version: python3}\n"
        "  - python: {version: python3}\n",
        None,
        "4:13: builders[1].python: repeats the python builder of entry 0: node, php "
        "and python may each appear once in builders",
    ),
    (
        "builders empty entry",
        "version: v4\nbuilders:\n  - {}\n",
        None,
        "3:5: builders[0]: has 0 keys: each builders entry needs exactly one of "
        "custom, node, php or python",
    ),
    (
        "empty file",
        "",
        None,
        "1:1: the file is empty: a Blubber file needs at least 'version: v4'",
    ),
    (
        "include cycle",
        "version: v4\nvariants:\n  aaa:\n    includes: [bbb]\n  bbb:\n"
        "    includes: [aaa]\n",
        "bbb",
        "6:16: variants.bbb.includes[0]: include cycle: variants.bbb includes aaa, "
        "aaa includes bbb; remove one of these includes",
    ),
    (
        "include cycle of three",
        "version: v4\nvariants:\n  aaa:\n    includes: [bbb]\n  bbb:\n"
        "    includes: [ccc]\n  ccc:\n    includes: [aaa]\n",
        "aaa",
        "4:16: variants.aaa.includes[0]: include cycle: variants.aaa includes bbb, "
        "bbb includes ccc, ccc includes aaa; remove one of these includes",
    ),
    (
        "self include",
        "version: v4\nvariants:\n  aaa:\n    includes: [aaa]\n",
        "aaa",
        "4:16: variants.aaa.includes[0]: include cycle: variants.aaa includes aaa; "
        "remove one of these includes",
    ),
    (
        "unknown variant requested",
        "version: v4\nvariants:\n  build: {}\n",
        "biuld",
        '2:1: variants: the variant "biuld" is not defined; did you mean "build"?',
    ),
    (
        "stage cycle",
        "version: v4\nvariants:\n  aaa:\n    copies: [bbb]\n  bbb:\n"
        "    copies: [aaa]\n",
        "aaa",
        "3:3: variants.aaa: stage cycle: variants.aaa takes files from bbb, bbb takes "
        "files from aaa; a variant cannot depend on its own output",
    ),
]


@pytest.mark.parametrize(
    ("text", "variant", "expected"),
    [
        pytest.param(text, variant, expected, id=name)
        for name, text, variant, expected in ERRORS
    ],
)
def test_error_first_line(
    tmp_path: Path, text: str, variant: str | None, expected: str
) -> None:
    assert first_line(tmp_path, text, variant) == expected


def test_error_exit_status(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text("version: v3\n")
    with pytest.raises(UserInputError) as caught:
        load_config(path)
    assert caught.value.exit_code == 2


def test_error_quotes_source_line(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text("version: v4\nruns: {as: root}\n")
    with pytest.raises(UserInputError) as caught:
        load_config(path)
    assert str(caught.value).splitlines()[1:] == [
        "    runs: {as: root}",
        "               ^",
    ]


def test_image_reference_no_backtracking(tmp_path: Path) -> None:
    text = "version: v4\nbase: " + "a" * 5000 + "!\n"
    assert "is not a valid image reference" in first_line(tmp_path, text)


# --- values -------------------------------------------------------------------------


def test_defaults_applied(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\nvariants: {dev: {}}\n")
    assert config.common.lives == DEFAULT_LIVES
    assert (config.common.runs.as_, config.common.runs.uid, config.common.runs.gid) == (
        "runuser",
        900,
        900,
    )


def test_top_level_zero_replaces_default(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\nruns: {uid: 0}\n")
    assert config.common.runs.uid == 0
    assert config.common.runs.gid == 900


def test_variant_defaults_not_applied(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\nvariants: {dev: {lives: {uid: 5}}}\n")
    assert config.variants["dev"].lives.as_ == ""


def test_yaml_11_booleans(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\nruns: {insecurely: yes}\n")
    assert config.common.runs.insecurely is True


def test_float_uid_accepted(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\nlives: {uid: 1000.0}\n")
    assert config.common.lives.uid == 1000


def test_packages_list_is_default_release(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\napt: {packages: [curl, git=1:2.39-1]}\n")
    assert dict(config.common.apt.packages) == {"default": ("curl", "git=1:2.39-1")}


def test_release_key_unanchored(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\napt: {packages: {'_x!': [curl]}}\n")
    assert list(config.common.apt.packages) == ["_x!"]


def test_requirements_shorthand(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "version: v4\nvariants:\n  build: {}\n  dev:\n    node:\n      requirements:\n"
        "        - package.json\n        - {from: build, source: /out}\n",
    )
    assert config.variants["dev"].node.requirements == (
        Artifact("local", "package.json"),
        Artifact("build", "/out"),
    )


def test_requirements_empty_list_kept(tmp_path: Path) -> None:
    config = load_text(
        tmp_path, "version: v4\npython: {version: python3, requirements: []}\n"
    )
    assert config.common.python == Python(version="python3", requirements=())


def test_command_string_form(tmp_path: Path) -> None:
    config = load_text(tmp_path, "version: v4\nbuilder: {command: make all}\n")
    assert config.common.builder.command == ("make all",)


def test_mounts_and_caches_shorthand(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "version: v4\nvariants:\n  assets: {}\n  dev:\n    builder:\n"
        "      mounts: [assets, {from: local, destination: /src}]\n"
        "      caches: [/root/.cache, {destination: /c, id: cid, access: locked}]\n",
    )
    builder = config.variants["dev"].builder
    assert builder.mounts == (Mount("assets"), Mount("local", "/src"))
    assert builder.caches == (Cache("/root/.cache"), Cache("/c", "cid", "locked"))


def test_builders_entries(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "version: v4\nbuilders:\n  - node: {requirements: [package.json]}\n"
        "  - custom: {command: [make]}\n  - custom: {command: [make, test]}\n",
    )
    assert config.common.builders == (
        Node(requirements=(Artifact("local", "package.json"),)),
        Builder(command=("make",)),
        Builder(command=("make", "test")),
    )


def test_image_references_accepted(tmp_path: Path) -> None:
    for reference in (
        "debian",
        "docker-registry.wikimedia.org/nodejs20-slim:latest",
        "localhost:5000/a/b__c-d.e:1.0",
        "busybox@sha256:" + "a" * 64,
    ):
        config = load_text(tmp_path, f"version: v4\nbase: '{reference}'\n")
        assert config.common.base == reference


def test_includes_local_ignored(tmp_path: Path) -> None:
    config = load_text(
        tmp_path, "version: v4\nbase: debian\nvariants:\n  dev: {includes: [local]}\n"
    )
    stages = compile_variant(config, "dev")
    assert [stage.name for stage in stages] == ["dev"]


def test_mount_from_variant_parent_source(tmp_path: Path) -> None:
    # A mount from a variant reads that variant's filesystem, not the build
    # context, so only local mount sources are checked.
    config = load_text(
        tmp_path,
        "version: v4\nvariants:\n  assets: {}\n  dev:\n    builder:\n"
        "      command: [ls]\n      mounts: [{from: assets, source: ../x}]\n",
    )
    assert config.variants["dev"].builder.mounts == (Mount("assets", "", "../x"),)


# --- image references that look like misspelled variants ------------------------------

_VARIANTS = "version: v4\nvariants:\n  build: {}\n  assets: {}\n  dev:\n"

# (name, lines of variants.dev, expected warning after the path, or None)
IMAGE_TYPOS = [
    (
        "copies shorthand",
        "    copies: [biuld]\n",
        '6:14: variants.dev.copies[0].from "biuld" is not a variant, so it is pulled '
        "as the image docker.io/library/biuld:latest; did you mean the variant "
        '"build"?',
    ),
    (
        "copies mapping",
        "    copies: [{from: bulid, source: /out}]\n",
        '6:21: variants.dev.copies[0].from "bulid" is not a variant, so it is pulled '
        "as the image docker.io/library/bulid:latest; did you mean the variant "
        '"build"?',
    ),
    (
        "requirement",
        "    builder:\n      command: [ls]\n"
        "      requirements: [{from: asets, source: a.txt}]\n",
        '8:29: variants.dev.builder.requirements[0].from "asets" is not a variant, so '
        "it is pulled as the image docker.io/library/asets:latest; did you mean the "
        'variant "assets"?',
    ),
    (
        "mount shorthand",
        "    builder:\n      command: [ls]\n      mounts: [asset]\n",
        '8:16: variants.dev.builder.mounts[0].from "asset" is not a variant, so it is '
        "pulled as the image docker.io/library/asset:latest; did you mean the variant "
        '"assets"?',
    ),
    (
        "two edits",
        "    copies: [bilds]\n",
        '6:14: variants.dev.copies[0].from "bilds" is not a variant, so it is pulled '
        "as the image docker.io/library/bilds:latest; did you mean the variant "
        '"build"?',
    ),
    ("tag", "    copies: ['biuld:latest']\n", None),
    ("digest", "    copies: ['biuld@sha256:" + "a" * 64 + "']\n", None),
    ("registry domain", "    copies: [registry.example.org/biuld]\n", None),
    ("localhost domain", "    copies: [localhost/biuld]\n", None),
    ("uppercase domain", "    copies: [Asset/s]\n", None),
    ("far name", "    copies: [debian]\n", None),
    ("three edits", "    copies: [bxxlds]\n", None),
    ("variant itself", "    copies: [build]\n", None),
    ("local", "    copies: [local]\n", None),
]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [pytest.param(lines, expected, id=name) for name, lines, expected in IMAGE_TYPOS],
)
def test_image_typo_warning(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    lines: str,
    expected: str | None,
) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(_VARIANTS + lines)
    with caplog.at_level(logging.WARNING, logger="flense.blubber.load"):
        load_config(path)
    messages = [
        record.getMessage().removeprefix(f"{path}:") for record in caplog.records
    ]
    assert messages == ([] if expected is None else [expected])
