"""Tests for loading and validating manifests."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from flense.errors import Location, UserInputError
from flense.manifest import Component, Manifest, load_manifest

# A context tree most cases share: a few component directories, a file, a
# Blubber component with its config, and symlinks that leave the context.
DIRECTORIES = [
    "mediawiki",
    "extensions/Cite",
    "extensions/Popups/.pipeline",
    "extensions/Popups/src",
    "skins/Vector",
]
FILES = [
    "README",
    "extensions/Popups/.pipeline/blubber.yaml",
    "extensions/Popups/other.yaml",
]
# Link path in the context -> target relative to tmp_path.
LINKS = {
    "extensions/Outside": "outside/dir",
    "linked": "outside",
    "extensions/Popups/config-link.yaml": "outside/blubber.yaml",
    "extensions/Inside": "ctx/extensions/Cite",
}


def make_context(tmp_path: Path) -> Path:
    context = tmp_path / "ctx"
    for directory in DIRECTORIES:
        (context / directory).mkdir(parents=True)
    for file in FILES:
        (context / file).write_text("")
    (tmp_path / "outside" / "dir").mkdir(parents=True)
    (tmp_path / "outside" / "blubber.yaml").write_text("")
    for link, target in LINKS.items():
        os.symlink(tmp_path / target, context / link)
    return context


def write_manifest(context: Path, text: str) -> Path:
    path = context / "flense.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load(tmp_path: Path, text: str) -> Manifest:
    context = make_context(tmp_path)
    return load_manifest(write_manifest(context, text), context)


HEADER = """\
destination:
  root: /srv/mediawiki
components:
"""

# (case id, manifest text, expected first line of the error after "<file>:").
# "{ctx}" in an expected line stands for the resolved context directory.
BAD_MANIFESTS = [
    (
        "syntax-colon",
        "destination:\n  root: a: b\n",
        "2:10: invalid YAML: a mapping value is not allowed here; fix the "
        'indentation, or quote the value if it contains ": "',
    ),
    (
        "syntax-tab",
        "destination:\n\troot: /srv\n",
        "2:1: invalid YAML: a tab character is not allowed here; indent with spaces",
    ),
    (
        "duplicate-key",
        HEADER + "  - mediawiki\ndestination:\n  root: /srv\n",
        '5:1: duplicate key "destination": it is already set on line 1; '
        "remove one of them",
    ),
    (
        "two-documents",
        HEADER + "  - mediawiki\n---\nother: 1\n",
        "5:1: the file contains more than one YAML document; remove this one "
        "or move it to a file of its own",
    ),
    (
        "empty-file",
        "",
        "1:1: the manifest is empty; it needs the keys destination and components",
    ),
    (
        "top-level-list",
        "- mediawiki\n",
        "1:1: the manifest must be a mapping, not a list",
    ),
    (
        "unknown-top-level-key",
        "destinaton:\n  root: /srv\ncomponents: [mediawiki]\n",
        '1:1: unknown key "destinaton"; did you mean "destination"?',
    ),
    (
        "unknown-top-level-key-far",
        HEADER + "  - mediawiki\nimage: foo\n",
        '5:1: unknown key "image"; use one of components, defaults, destination',
    ),
    (
        "unknown-destination-key",
        "destination:\n  root: /srv\n  exlude: [.git]\ncomponents: [mediawiki]\n",
        '3:3: unknown key "exlude"; did you mean "exclude"?',
    ),
    (
        "unknown-defaults-key",
        HEADER + "  - mediawiki\ndefaults:\n  biulder: copy\n",
        '6:3: unknown key "biulder"; did you mean "builder"?',
    ),
    (
        "unknown-component-key",
        HEADER + "  - source: mediawiki\n    destnation: .\n",
        '5:5: unknown key "destnation"; did you mean "destination"?',
    ),
    (
        "unknown-component-key-case",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: x\n    configpath: a.yaml\n",
        '7:5: unknown key "configpath"; did you mean "configPath"?',
    ),
    (
        "missing-destination",
        "components: [mediawiki]\n",
        '1:1: missing key "destination"; add destination with root, the '
        "directory in the image that the components go into",
    ),
    (
        "destination-not-mapping",
        "destination: /srv\ncomponents: [mediawiki]\n",
        '1:14: destination must be a mapping, not the string "/srv"',
    ),
    (
        "missing-root",
        "destination:\n  exclude: []\ncomponents: [mediawiki]\n",
        '1:1: missing key "root"; add root with the absolute path in the image, '
        "such as /srv/mediawiki",
    ),
    (
        "root-not-string",
        "destination:\n  root: 42\ncomponents: [mediawiki]\n",
        "2:9: destination.root must be a string, not the number 42; "
        "put the value in quotes",
    ),
    (
        "root-relative",
        "destination:\n  root: srv/mediawiki\ncomponents: [mediawiki]\n",
        '2:9: destination.root "srv/mediawiki" is not an absolute path; '
        'write it from the image\'s root: "/srv/mediawiki"',
    ),
    (
        "root-empty",
        "destination:\n  root: ''\ncomponents: [mediawiki]\n",
        "2:9: destination.root is empty; set it or remove the key",
    ),
    (
        "exclude-not-list",
        "destination:\n  root: /srv\n  exclude: .git\ncomponents: [mediawiki]\n",
        '3:12: destination.exclude must be a list, not the string ".git"',
    ),
    (
        "exclude-item-not-string",
        "destination:\n  root: /srv\n  exclude: [.git, 3]\ncomponents: [mediawiki]\n",
        "3:19: a destination.exclude pattern must be a string, not the number 3; "
        "put the value in quotes",
    ),
    (
        "exclude-invalid-pattern",
        "destination:\n  root: /srv\n  exclude:\n    - .git\n    - '[a'\n"
        "components: [mediawiki]\n",
        # The reason after the colon comes from flense.patterns.
        '5:7: invalid exclude pattern "[a": ',
    ),
    (
        "exclude-blank-pattern",
        "destination:\n  root: /srv\n  exclude: ['  ']\ncomponents: [mediawiki]\n",
        '3:13: exclude pattern "  " is blank; remove it',
    ),
    (
        "missing-components",
        "destination:\n  root: /srv\n",
        '1:1: missing key "components"; add components with the list of '
        "component directories",
    ),
    (
        "components-empty-list",
        HEADER.replace("components:\n", "components: []\n"),
        "3:13: components is empty; list at least one component directory",
    ),
    (
        "components-null",
        HEADER,
        "3:1: components is empty; list at least one component directory",
    ),
    (
        "components-mapping",
        HEADER + "  mediawiki: {}\n",
        "4:3: components must be a list, not a mapping",
    ),
    (
        "component-number",
        HEADER + "  - mediawiki\n  - 2020\n",
        "5:5: a component must be a directory path or a mapping with a source, "
        "not the number 2020; put the path in quotes",
    ),
    (
        "component-list",
        HEADER + "  - [mediawiki]\n",
        "4:5: a component must be a directory path or a mapping with a source, "
        "not a list",
    ),
    (
        "component-without-source",
        HEADER + "  - destination: x\n",
        "4:5: component has no source; add source: with its directory, "
        "relative to the build context",
    ),
    (
        "source-not-string",
        HEADER + "  - source: yes\n",
        "4:13: source must be a string, not the boolean true; YAML 1.1 reads "
        "yes, no, on, off, y and n as booleans, so put the value in quotes",
    ),
    (
        "source-missing-directory",
        HEADER + "  - extensions/Cit\n",
        '4:5: source directory "extensions/Cit" not found in the build context '
        '{ctx}; did you mean "extensions/Cite"?',
    ),
    (
        "source-missing-no-suggestion",
        HEADER + "  - nothing/here\n",
        '4:5: source directory "nothing/here" not found in the build context '
        "{ctx}; check the path and the --context directory",
    ),
    (
        "source-is-file",
        HEADER + "  - README\n",
        '4:5: source "README" is a file, not a directory; a component\'s source '
        "must be a directory",
    ),
    (
        "source-absolute",
        HEADER + "  - source: /srv/mediawiki\n    destination: .\n",
        '4:13: source "/srv/mediawiki" is an absolute path; write it relative '
        "to the build context {ctx}",
    ),
    (
        "source-dotdot",
        HEADER + "  - ../outside\n",
        '4:5: source "../outside" is outside the build context {ctx}; move the '
        "directory into the context, or pass --context with a directory that "
        "contains it",
    ),
    (
        "source-dotdot-inside-path",
        HEADER + "  - source: extensions/../../outside\n    destination: x\n",
        '4:13: source "extensions/../../outside" is outside the build context',
    ),
    (
        "source-symlink-outside",
        HEADER + "  - extensions/Outside\n",
        '4:5: source "extensions/Outside" resolves through a symlink to '
        "{tmp}/outside/dir, outside the build context {ctx}; BuildKit sends only "
        "files inside the context, so copy the directory into it or pass "
        "--context with a directory that contains both",
    ),
    (
        "source-parent-symlink-outside",
        HEADER + "  - linked/dir\n",
        '4:5: source "linked/dir" resolves through a symlink to {tmp}/outside/dir',
    ),
    (
        "destination-absolute",
        HEADER + "  - source: mediawiki\n    destination: /srv/mediawiki\n",
        '5:18: destination "/srv/mediawiki" is an absolute path; write it '
        'relative to destination.root (/srv/mediawiki), or use "." for the '
        "root itself",
    ),
    (
        "destination-dotdot",
        HEADER + "  - source: mediawiki\n    destination: ../x\n",
        '5:18: destination "../x" is outside destination.root (/srv/mediawiki); '
        'remove the ".." parts',
    ),
    (
        "destination-dotdot-inside-path",
        HEADER + "  - source: mediawiki\n    destination: a/../../x\n",
        '5:18: destination "a/../../x" is outside destination.root',
    ),
    (
        "destination-duplicate",
        HEADER + "  - extensions/Cite\n  - source: skins/Vector\n"
        "    destination: ./extensions//Cite/\n",
        '6:18: destination "extensions/Cite" is also the destination of the '
        "component on line 4; give each component its own destination",
    ),
    (
        "destination-duplicate-root",
        HEADER + "  - source: mediawiki\n    destination: .\n  - source: skins/Vector\n"
        "    destination: .\n",
        '7:18: destination "." is also the destination of the component on line 4',
    ),
    (
        "destination-duplicate-bare",
        HEADER + "  - source: skins/Vector\n    destination: extensions/Cite\n"
        "  - extensions/Cite\n",
        '6:5: destination "extensions/Cite" is also the destination of the '
        "component on line 4",
    ),
    (
        "builder-unknown",
        HEADER + "  - source: mediawiki\n    builder: bluber\n",
        '5:14: unknown builder "bluber"; did you mean "blubber"?',
    ),
    (
        "builder-unknown-far",
        HEADER + "  - source: mediawiki\n    builder: docker\n",
        '5:14: unknown builder "docker"; use one of blubber, copy',
    ),
    (
        "builder-unknown-in-defaults",
        HEADER + "  - mediawiki\ndefaults:\n  builder: cpy\n",
        '6:12: unknown builder "cpy"; did you mean "copy"?',
    ),
    (
        "blubber-without-variant",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n",
        '4:5: blubber component "extensions/Popups" has no variant; add variant: '
        "with the name of the Blubber variant to build",
    ),
    (
        "blubber-variant-not-string",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: 1.10\n",
        "6:14: variant must be a string, not the number 1.1; put the value in quotes",
    ),
    (
        "variant-on-copy",
        HEADER + "  - source: mediawiki\n    variant: x\n",
        "5:5: variant is not a field of copy components; remove it, or set "
        "builder: blubber",
    ),
    (
        "config-path-absolute",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: x\n    configPath: /etc/blubber.yaml\n",
        '7:17: configPath "/etc/blubber.yaml" is an absolute path; write it '
        'relative to the component\'s source "extensions/Popups"',
    ),
    (
        "config-path-escapes",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: x\n    configPath: ../Cite/blubber.yaml\n",
        '7:17: configPath "../Cite/blubber.yaml" is outside the component\'s '
        'source "extensions/Popups"; name a file inside that directory',
    ),
    (
        "config-path-symlink-outside",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: x\n    configPath: config-link.yaml\n",
        '7:17: configPath "config-link.yaml" resolves through a symlink to '
        "{tmp}/outside/blubber.yaml, outside the component's source "
        '"extensions/Popups"; name a file inside it',
    ),
    (
        "config-path-missing",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: x\n    configPath: blubber.yaml\n",
        '7:17: configPath "blubber.yaml" not found in the component\'s source '
        '"extensions/Popups"; add the file or correct configPath',
    ),
    (
        "config-path-directory",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: x\n    configPath: src\n",
        '7:17: configPath "src" is a directory, not a file; name the file itself',
    ),
    (
        "config-path-default-missing",
        HEADER + "  - source: extensions/Cite\n    builder: blubber\n    variant: x\n",
        '4:5: blubber component "extensions/Cite" has no file at the default '
        'configPath ".pipeline/blubber.yaml"; add the file or set configPath',
    ),
    (
        "config-path-from-defaults-missing",
        HEADER + "  - source: extensions/Popups\n    builder: blubber\n"
        "    variant: x\ndefaults:\n  configPath: ci/blubber.yaml\n",
        '4:5: configPath "ci/blubber.yaml" not found in the component\'s source '
        '"extensions/Popups"; add the file or correct configPath '
        "(configPath set in defaults on line 8)",
    ),
    (
        "defaults-source",
        HEADER + "  - mediawiki\ndefaults:\n  source: x\n",
        "6:3: defaults cannot set source; every component names its own source",
    ),
    (
        "defaults-destination",
        HEADER + "  - mediawiki\ndefaults:\n  destination: x\n",
        "6:3: defaults cannot set destination; every component names its own "
        "destination",
    ),
    (
        "defaults-not-mapping",
        HEADER + "  - mediawiki\ndefaults: [copy]\n",
        "5:11: defaults must be a mapping, not a list",
    ),
    (
        "defaults-value-not-string",
        HEADER + "  - mediawiki\ndefaults:\n  variant: on\n",
        "6:12: defaults.variant must be a string, not the boolean true",
    ),
    (
        "git-and-source",
        HEADER + "  - source: mediawiki\n    git: https://example.org/core.git\n",
        "5:5: component has both source and git; keep source for a directory "
        "in the build context, or git for a remote repository",
    ),
    (
        "git-without-destination",
        HEADER + "  - git: https://example.org/Cite.git\n",
        '4:5: git component "https://example.org/Cite.git" has no destination; '
        "add destination: with the directory under the root that its files go "
        "into",
    ),
    (
        "git-unsupported-scheme",
        HEADER + "  - git: ftp://example.org/Cite.git\n    destination: x\n",
        '4:10: git remote "ftp://example.org/Cite.git" uses the unsupported '
        'protocol "ftp"; use https://, http:// or git://',
    ),
    (
        "git-local-path",
        HEADER + "  - git: /srv/repos/Cite.git\n    destination: x\n",
        '4:10: git remote "/srv/repos/Cite.git" is a local path; a git '
        "component needs a URL that the engine can fetch",
    ),
    (
        "git-query",
        HEADER + "  - git: https://example.org/Cite.git?ref=a\n    destination: x\n",
        '4:10: git remote "https://example.org/Cite.git?ref=a" has a query '
        "(?...), which flense does not pass to git; write the ref and "
        "subdirectory as #REF:SUBDIR",
    ),
    (
        "git-white-space",
        HEADER + '  - git: "https://example.org/Cite.git#main "\n    destination: x\n',
        '4:10: git remote "https://example.org/Cite.git#main " contains white space',
    ),
    (
        "git-no-host",
        HEADER + "  - git: git://\n    destination: x\n",
        '4:10: git remote "git://" has no host; write it as https://HOST/PATH',
    ),
    (
        "git-bad-port",
        HEADER + "  - git: git://127.0.0.1:99999/x.git\n    destination: x\n",
        '4:10: git remote "git://127.0.0.1:99999/x.git" has an invalid port; '
        "use a number from 1 to 65535",
    ),
    (
        "git-two-fragments",
        HEADER + "  - git: https://example.org/x.git#a#b\n    destination: x\n",
        '4:10: git remote "https://example.org/x.git#a#b" has more than one #',
    ),
    (
        "git-subdir-escapes",
        HEADER + "  - git: https://example.org/x.git#main:../..\n    destination: x\n",
        '4:10: git subdirectory "../.." in "https://example.org/x.git#main:../.." '
        "leaves the repository",
    ),
    (
        "git-ref-option",
        HEADER + "  - git: https://example.org/x.git#--upload-pack=x\n"
        "    destination: x\n",
        '4:10: git ref "--upload-pack=x" in "https://example.org/x.git'
        '#--upload-pack=x" starts with -',
    ),
    (
        "git-url-as-source",
        HEADER + "  - https://example.org/x.git\n",
        '4:5: source directory "https://example.org/x.git" not found in the '
        "build context {ctx}; to fetch a git remote, write it as git: URL",
    ),
    (
        "git-ssh",
        HEADER + "  - git: git@example.org:Cite.git\n    destination: x\n",
        '4:10: git remote "git@example.org:Cite.git" is an SSH remote, which '
        "needs an SSH agent that flense does not forward; use its https:// URL",
    ),
    (
        "git-blubber",
        HEADER
        + "  - git: https://example.org/Cite.git\n"
        + "    destination: x\n    builder: blubber\n",
        '6:5: git component "https://example.org/Cite.git" uses builder '
        '"blubber", but git components take only the copy builder',
    ),
    (
        "git-variant",
        HEADER
        + "  - git: https://example.org/Cite.git\n"
        + "    destination: x\n    variant: build\n",
        "6:5: variant is not a field of git components, which take only the "
        "copy builder; remove it",
    ),
    (
        "git-destination-escapes",
        HEADER + "  - git: https://example.org/Cite.git\n    destination: ../x\n",
        '5:18: destination "../x"',
    ),
    (
        "defaults-git",
        HEADER + "  - mediawiki\ndefaults:\n  git: https://example.org/x.git\n",
        "6:3: defaults cannot set git; every component names its own git",
    ),
    (
        "defaults-builder-without-variant",
        HEADER + "  - extensions/Popups\ndefaults:\n  builder: blubber\n",
        '4:5: blubber component "extensions/Popups" (builder set in defaults on '
        "line 6) has no variant; add variant: with the name of the Blubber "
        "variant to build",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, expected) for _, text, expected in BAD_MANIFESTS],
    ids=[case for case, _, _ in BAD_MANIFESTS],
)
def test_manifest_bad(tmp_path: Path, text: str, expected: str) -> None:
    context = make_context(tmp_path)
    path = write_manifest(context, text)

    with pytest.raises(UserInputError) as caught:
        load_manifest(path, context)

    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith(f"{path}:")
    detail = first_line.removeprefix(f"{path}:")
    expected = expected.format(ctx=context.resolve(), tmp=tmp_path.resolve())
    # A few expected lines stop early, where the rest repeats another case.
    assert detail.startswith(expected)


def test_manifest_error_quotes_source_line(tmp_path: Path) -> None:
    context = make_context(tmp_path)
    path = write_manifest(
        context, HEADER + "  - source: mediawiki\n    builder: bluber\n"
    )

    with pytest.raises(UserInputError) as caught:
        load_manifest(path, context)

    lines = str(caught.value).splitlines()
    assert lines[1] == "        builder: bluber"
    assert lines[2] == "                 ^"
    assert caught.value.location == Location(path, 5, 14)


def test_manifest_unknown_key_quotes_key(tmp_path: Path) -> None:
    context = make_context(tmp_path)
    path = write_manifest(context, "destinaton:\n  root: /srv\ncomponents: [a]\n")

    with pytest.raises(UserInputError) as caught:
        load_manifest(path, context)

    assert str(caught.value).splitlines() == [
        f'{path}:1:1: unknown key "destinaton"; did you mean "destination"?',
        "    destinaton:",
        "    ^",
    ]


def test_manifest_missing_file(tmp_path: Path) -> None:
    context = make_context(tmp_path)
    path = context / "absent.yaml"

    with pytest.raises(UserInputError) as caught:
        load_manifest(path, context)

    assert str(caught.value).startswith(f"{path}:1:1: cannot read the file: ")


def test_manifest_context_not_directory(tmp_path: Path) -> None:
    context = make_context(tmp_path)
    path = write_manifest(context, HEADER + "  - mediawiki\n")

    with pytest.raises(UserInputError) as caught:
        load_manifest(path, context / "README")

    assert caught.value.location is None
    assert "is not a directory" in caught.value.message


PROTOTYPE = """
destination:
  root: /srv/mediawiki
  exclude:
    - .git
    - docs/
    - node_modules/
defaults:
  builder: copy
components:
  - source: mediawiki
    destination: .
  - extensions/Cite
  - source: extensions/Popups
    builder: blubber
    configPath: .pipeline/blubber.yaml
    variant: distribution
  - skins/Vector
"""


def test_manifest_prototype_example(tmp_path: Path) -> None:
    manifest = load(tmp_path, PROTOTYPE)

    assert manifest.root == "/srv/mediawiki"
    assert manifest.exclude == (".git", "docs", "node_modules")
    assert manifest.context == (tmp_path / "ctx").resolve()
    assert manifest.path == tmp_path / "ctx" / "flense.yaml"
    assert [c.source for c in manifest.components] == [
        "mediawiki",
        "extensions/Cite",
        "extensions/Popups",
        "skins/Vector",
    ]


def test_manifest_prototype_components(tmp_path: Path) -> None:
    manifest = load(tmp_path, PROTOTYPE)
    path = tmp_path / "ctx" / "flense.yaml"

    assert manifest.components == (
        Component(
            source="mediawiki",
            destination=".",
            builder="copy",
            config_path=None,
            variant=None,
            location=Location(path, 10, 5),
        ),
        Component(
            source="extensions/Cite",
            destination="extensions/Cite",
            builder="copy",
            config_path=None,
            variant=None,
            location=Location(path, 12, 5),
        ),
        Component(
            source="extensions/Popups",
            destination="extensions/Popups",
            builder="blubber",
            config_path=".pipeline/blubber.yaml",
            variant="distribution",
            location=Location(path, 13, 5),
        ),
        Component(
            source="skins/Vector",
            destination="skins/Vector",
            builder="copy",
            config_path=None,
            variant=None,
            location=Location(path, 17, 5),
        ),
    )


def test_component_name(tmp_path: Path) -> None:
    manifest = load(tmp_path, PROTOTYPE)

    names = [component.name for component in manifest.components]

    assert names == [
        "mediawiki",
        "extensions/Cite",
        "extensions/Popups",
        "skins/Vector",
    ]


def test_manifest_git_component(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        HEADER
        + "  - mediawiki\n"
        + "  - git: https://example.org/Cite.git#REL1_41\n"
        + "    destination: extensions/Cite\n",
    )

    git = manifest.components[1]
    assert git.git == "https://example.org/Cite.git#REL1_41"
    assert git.destination == "extensions/Cite"
    assert git.builder == "copy"
    assert git.name == "extensions/Cite"
    assert manifest.components[0].git is None


def test_manifest_defaults_applied(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        """
        destination:
          root: /srv/mediawiki
        defaults:
          builder: blubber
          variant: distribution
        components:
          - extensions/Popups
          - source: extensions/Popups
            destination: copies/Popups
            configPath: other.yaml
            variant: test
          - source: mediawiki
            builder: copy
        """,
    )

    first, second, third = manifest.components
    assert (first.builder, first.variant, first.config_path) == (
        "blubber",
        "distribution",
        ".pipeline/blubber.yaml",
    )
    assert (second.builder, second.variant, second.config_path) == (
        "blubber",
        "test",
        "other.yaml",
    )
    # Defaults of blubber-only fields do not reach a copy component.
    assert (third.builder, third.variant, third.config_path) == ("copy", None, None)


def test_manifest_builder_defaults_to_copy(tmp_path: Path) -> None:
    manifest = load(tmp_path, HEADER + "  - mediawiki\n")

    assert manifest.components[0].builder == "copy"


def test_manifest_nested_destinations(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        HEADER + "  - source: mediawiki\n    destination: .\n"
        "  - extensions/Cite\n  - source: skins/Vector\n"
        "    destination: ./skins/Vector/\n",
    )

    destinations = [component.destination for component in manifest.components]

    assert destinations == [".", "extensions/Cite", "skins/Vector"]


def test_manifest_paths_normalized(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        """
        destination:
          root: //srv//mediawiki/
        components:
          - source: ./extensions//Cite/
            destination: ext/./Cite/../Cite2
          - source: extensions/Popups/../../skins/Vector
          - source: .
            destination: all
        """,
    )

    sources = [component.source for component in manifest.components]
    destinations = [component.destination for component in manifest.components]

    assert manifest.root == "/srv/mediawiki"
    assert sources == ["extensions/Cite", "skins/Vector", "."]
    assert destinations == ["ext/Cite2", "skins/Vector", "all"]


def test_manifest_root_slash(tmp_path: Path) -> None:
    manifest = load(tmp_path, "destination:\n  root: /\ncomponents: [mediawiki]\n")

    assert manifest.root == "/"


def test_manifest_symlink_inside_context(tmp_path: Path) -> None:
    manifest = load(tmp_path, HEADER + "  - extensions/Inside\n")

    # The source is the directory the link points to, which BuildKit can
    # send; the destination keeps the path as written.
    assert manifest.components[0].source == "extensions/Cite"
    assert manifest.components[0].destination == "extensions/Inside"


def test_manifest_exclude_null_and_defaults_null(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        "destination:\n  root: /srv\n  exclude:\ndefaults:\ncomponents: [mediawiki]\n",
    )

    assert manifest.exclude == ()
    assert manifest.components[0].builder == "copy"


def test_manifest_exclude_normalized(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        "destination:\n  root: /srv\n  exclude: [' /docs/ ', '!docs/keep', '**/*.md']\n"
        "components: [mediawiki]\n",
    )

    assert manifest.exclude == ("docs", "!docs/keep", "**/*.md")


def test_manifest_anchors_and_merge(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        """
        destination:
          root: /srv/mediawiki
        components:
          - &popups
            source: extensions/Popups
            builder: blubber
            variant: distribution
          - <<: *popups
            destination: extensions/PopupsTest
            variant: test
        """,
    )

    first, second = manifest.components
    assert (first.destination, first.variant) == ("extensions/Popups", "distribution")
    assert (second.destination, second.variant) == ("extensions/PopupsTest", "test")
    assert second.source == "extensions/Popups"


def test_manifest_source_equals_destination_default(tmp_path: Path) -> None:
    manifest = load(tmp_path, HEADER + "  - source: extensions/Cite/\n")

    assert manifest.components[0].destination == "extensions/Cite"


def test_manifest_files_unchanged(tmp_path: Path) -> None:
    context = make_context(tmp_path)
    path = write_manifest(context, PROTOTYPE)
    before = {p: p.stat().st_mtime_ns for p in context.rglob("*")}

    load_manifest(path, context)

    after = {p: p.stat().st_mtime_ns for p in context.rglob("*")}
    assert after == before


def test_manifest_git_subdirectory_dot_name(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        HEADER
        + "  - git: https://example.org/x.git#main:..x/y\n"
        + "    destination: x\n",
    )

    assert manifest.components[0].git == "https://example.org/x.git#main:..x/y"
