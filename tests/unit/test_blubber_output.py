"""The output directory of a Blubber component: lives.in must exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from flense.blubber import compile_expansion, expand, load_config
from flense.blubber.output import check_output_directory
from flense.errors import UserInputError

_BUILD = "version: v4\nvariants:\n  build:\n    base: debian\n"

# (name, lines of variants.out, expected first line after the path, or None)
CASES = [
    (
        "copy elsewhere",
        "    lives: {in: /dist}\n"
        "    copies: [{from: build, source: /srv/app/dist, destination: /out}]\n",
        '5:3: variants.out: lives.in "/dist" is never created in this variant (it has '
        "no base, and no copy writes there): set lives.in to where the copies go, or "
        "copy into /dist",
    ),
    (
        "no copies",
        "    lives: {in: /dist}\n",
        '5:3: variants.out: lives.in "/dist" is never created in this variant (it has '
        "no base, and no copy writes there): set lives.in to where the copies go, or "
        "copy into /dist",
    ),
    (
        "default lives in",
        "    copies: [{from: build, source: /srv/app/dist, destination: /dist}]\n",
        '5:3: variants.out: lives.in "/srv/app" is never created in this variant (it '
        "has no base, and no copy writes there): set lives.in to where the copies go, "
        "or copy into /srv/app",
    ),
    (
        "sibling with common prefix",
        "    lives: {in: /dist}\n"
        "    copies: [{from: build, source: /a, destination: /dist2/}]\n",
        '5:3: variants.out: lives.in "/dist" is never created in this variant (it has '
        "no base, and no copy writes there): set lives.in to where the copies go, or "
        "copy into /dist",
    ),
    (
        "copy to lives in",
        "    lives: {in: /dist}\n"
        "    copies: [{from: build, source: /srv/app/dist, destination: /dist}]\n",
        None,
    ),
    (
        "copy below lives in",
        "    lives: {in: /dist}\n"
        "    copies: [{from: build, source: /a/b.js, destination: /dist/js/}]\n",
        None,
    ),
    (
        "copy to ancestor",
        "    lives: {in: /srv/dist}\n"
        "    copies: [{from: build, source: /srv/app, destination: /srv/}]\n",
        None,
    ),
    (
        "relative destination",
        "    lives: {in: /dist}\n"
        "    copies: [{from: build, source: /srv/app/dist, destination: dist}]\n",
        None,
    ),
    ("copies local", "    lives: {in: /dist}\n    copies: [local]\n", None),
    ("copies variant shorthand", "    lives: {in: /dist}\n    copies: [build]\n", None),
    (
        "trailing slash in lives in",
        "    lives: {in: /dist/}\n"
        "    copies: [{from: build, source: /srv/app/dist, destination: /dist}]\n",
        None,
    ),
    ("with base", "    base: debian\n    lives: {in: /dist}\n", None),
]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [pytest.param(lines, expected, id=name) for name, lines, expected in CASES],
)
def test_output_directory(tmp_path: Path, lines: str, expected: str | None) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(_BUILD + "  out:\n" + lines)
    config = load_config(path)
    expansion = expand(config, "out")
    stages = compile_expansion(expansion)
    if expected is None:
        check_output_directory(config, expansion, stages)
        return
    with pytest.raises(UserInputError) as caught:
        check_output_directory(config, expansion, stages)
    assert str(caught.value).splitlines()[0] == f"{path}:{expected}"


def test_output_directory_inherited_lives_in(tmp_path: Path) -> None:
    path = tmp_path / "blubber.yaml"
    path.write_text(
        "version: v4\nlives: {in: /dist}\nvariants:\n  build: {base: debian}\n"
        "  out:\n    copies: [{from: build, source: /srv/app, destination: /app}]\n"
    )
    config = load_config(path)
    expansion = expand(config, "out")
    with pytest.raises(UserInputError) as caught:
        check_output_directory(config, expansion, compile_expansion(expansion))
    assert caught.value.location == config.location_of("variants.out#key")
