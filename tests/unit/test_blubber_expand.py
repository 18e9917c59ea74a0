"""Variant expansion: include order, merge rules and the stage graph."""

from __future__ import annotations

from pathlib import Path

from flense.blubber import expand, load_config
from flense.blubber.config import Artifact, Builder, Config, Node, Php, Python
from flense.blubber.expand import include_order


def load_text(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "blubber.yaml"
    path.write_text(text)
    return load_config(path)


def target(tmp_path: Path, text: str, name: str):  # type: ignore[no-untyped-def]
    return expand(load_text(tmp_path, text), name).stages[-1]


def test_include_order_post_order(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """
version: v4
variants:
  aaa: {includes: [bbb, ccc]}
  bbb: {includes: [ddd, eee]}
  ccc: {}
  ddd: {includes: [fff]}
  eee: {}
  fff: {}
""",
    )
    assert include_order(config, "aaa") == ["fff", "ddd", "eee", "bbb", "ccc"]


def test_include_order_diamond_first_position(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """
version: v4
variants:
  top: {includes: [left, right]}
  left: {includes: [shared]}
  right: {includes: [shared]}
  shared: {}
""",
    )
    assert include_order(config, "top") == ["shared", "left", "right"]


def test_later_include_wins(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        """
version: v4
variants:
  human: {base: human-image, node: {env: human}}
  lizard: {base: lizard-image}
  dev: {includes: [human, lizard]}
""",
        "dev",
    )
    assert variant.base == "lizard-image"
    assert variant.node.env == "human"


def test_own_values_win(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nvariants:\n  one: {base: one}\n"
        "  dev: {includes: [one], base: mine}\n",
        "dev",
    )
    assert variant.base == "mine"


def test_zero_does_not_override(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nlives: {uid: 123}\nvariants:\n  dev: {lives: {uid: 0, as: ''}}\n",
        "dev",
    )
    assert variant.lives.uid == 123
    assert variant.lives.as_ == "somebody"


def test_false_overrides_true(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nruns: {insecurely: true}\nvariants:\n"
        "  dev: {runs: {insecurely: false}}\n",
        "dev",
    )
    assert variant.runs.insecurely is False


def test_unset_flag_inherits(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nnode: {use-npm-ci: true}\nvariants:\n"
        "  dev: {node: {env: prod}}\n",
        "dev",
    )
    assert variant.node.use_npm_ci is True


def test_environment_union(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nruns: {environment: {AA: top, BB: top}}\nvariants:\n"
        "  dev: {runs: {environment: {BB: dev, CC: dev}}}\n",
        "dev",
    )
    assert dict(variant.runs.environment) == {"AA": "top", "BB": "dev", "CC": "dev"}


def test_apt_packages_append_per_release(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\napt: {packages: [libfoo, libbar]}\nvariants:\n"
        "  dev:\n    apt:\n      packages:\n"
        "        {default: [libfoo-dev], bookworm-backports: [npm]}\n",
        "dev",
    )
    assert dict(variant.apt.packages) == {
        "default": ("libfoo", "libbar", "libfoo-dev"),
        "bookworm-backports": ("npm",),
    }


def test_empty_list_clears(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nentrypoint: [a]\nnode: {requirements: [package.json]}\n"
        "variants:\n  dev: {entrypoint: [], node: {requirements: []}}\n",
        "dev",
    )
    assert variant.entrypoint == ()
    assert variant.node.requirements == ()


def test_absent_list_inherits(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nentrypoint: [a]\nvariants:\n  dev: {base: debian}\n",
        "dev",
    )
    assert variant.entrypoint == ("a",)


def test_copies_deduplicated(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        """
version: v4
variants:
  aaa: {}
  bbb: {}
  ccc: {}
  common: {copies: [aaa, bbb]}
  dev: {includes: [common], copies: [bbb, ccc]}
""",
        "dev",
    )
    assert variant.copies == (Artifact("aaa"), Artifact("bbb"), Artifact("ccc"))


def test_builder_fields_merge(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nbuilder: {command: [make], requirements: [Makefile]}\n"
        "variants:\n  dev: {builder: {command: [make, test]}}\n",
        "dev",
    )
    assert variant.builder == Builder(
        command=("make", "test"), requirements=(Artifact("local", "Makefile"),)
    )


def test_builders_merge(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        """
version: v4
base: foo
builders:
  - node:
      use-npm-ci: true
  - python:
      version: python2.7
  - php:
      requirements: [composer.json]
variants:
  build:
    builders:
      - python:
          requirements: [requirements.txt]
      - node:
          requirements: [package.json, package-lock.json]
          allow-dedupe-failure: true
      - custom:
          command: [make, deps]
          requirements: [Makefile, vendor]
""",
        "build",
    )
    assert variant.builders == (
        Php(requirements=(Artifact("local", "composer.json"),)),
        Python(
            version="python2.7", requirements=(Artifact("local", "requirements.txt"),)
        ),
        Node(
            requirements=(
                Artifact("local", "package.json"),
                Artifact("local", "package-lock.json"),
            ),
            use_npm_ci=True,
            allow_dedupe_failure=True,
        ),
        Builder(
            command=("make", "deps"),
            requirements=(Artifact("local", "Makefile"), Artifact("local", "vendor")),
        ),
    )


def test_custom_builders_kept_before_new(tmp_path: Path) -> None:
    variant = target(
        tmp_path,
        "version: v4\nbuilders:\n  - custom: {command: [one]}\nvariants:\n"
        "  dev:\n    builders:\n      - custom: {command: [two]}\n",
        "dev",
    )
    assert variant.builders == (Builder(command=("one",)), Builder(command=("two",)))


def test_top_level_merged_once(tmp_path: Path) -> None:
    expansion = expand(
        load_text(
            tmp_path,
            """
version: v4
base: debian
apt: {packages: [curl]}
variants:
  lib: {}
  mid: {includes: [lib]}
  final: {includes: [lib], copies: [mid]}
""",
        ),
        "final",
    )
    for stage in expansion.stages:
        assert dict(stage.apt.packages) == {"default": ("curl",)}, stage.name


def test_stage_order(tmp_path: Path) -> None:
    expansion = expand(
        load_text(
            tmp_path,
            """
version: v4
variants:
  one: {}
  two: {copies: [one]}
  three: {copies: [two, one]}
""",
        ),
        "three",
    )
    assert [stage.name for stage in expansion.stages] == ["one", "two", "three"]


def test_inherited_copies_make_stages(tmp_path: Path) -> None:
    expansion = expand(
        load_text(
            tmp_path,
            """
version: v4
variants:
  dep: {}
  shared: {copies: [dep]}
  mid: {includes: [shared]}
  final: {copies: [mid]}
""",
        ),
        "final",
    )
    assert [stage.name for stage in expansion.stages] == ["dep", "mid", "final"]


def test_requirement_and_mount_dependencies(tmp_path: Path) -> None:
    expansion = expand(
        load_text(
            tmp_path,
            """
version: v4
base: debian
variants:
  vendor: {}
  assets: {}
  build:
    builder:
      command: [make]
      requirements: [{from: vendor, source: /srv/app/vendor}]
      mounts: [assets, 'node:20']
""",
        ),
        "build",
    )
    assert [stage.name for stage in expansion.stages] == ["vendor", "assets", "build"]


def test_unrelated_variants_not_expanded(tmp_path: Path) -> None:
    expansion = expand(
        load_text(
            tmp_path,
            """
version: v4
variants:
  broken-a: {includes: [broken-b]}
  broken-b: {includes: [broken-a]}
  fine: {}
""",
        ),
        "fine",
    )
    assert [stage.name for stage in expansion.stages] == ["fine"]
