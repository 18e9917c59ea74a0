"""State settings, platforms and Go-compatible path helpers."""

from __future__ import annotations

import dataclasses

import pytest

from flense import llb
from flense.llb import paths


def test_scratch_is_empty() -> None:
    state = llb.scratch()
    assert state.is_scratch()
    assert state.output is None
    assert state.cwd == "/"
    assert state.env == {}


def test_state_is_immutable() -> None:
    state = llb.image("alpine")
    state.with_env("A", "1").with_cwd("/srv").with_user("nobody")
    assert state.env == {}
    assert state.cwd == "/"
    assert state.user == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        state._cwd = "/x"  # type: ignore[misc]


def test_env_returns_copy() -> None:
    state = llb.scratch().with_env("A", "1")
    state.env["A"] = "2"
    assert state.env_value("A") == "1"


def test_env_value_missing() -> None:
    assert llb.scratch().env_value("PATH") is None


def test_with_env_replacement_order() -> None:
    state = llb.scratch().with_env("A", "1").with_env("B", "2").with_env("A", "3")
    assert list(state.env.items()) == [("B", "2"), ("A", "3")]


@pytest.mark.parametrize("key", ["", "A=B"])
def test_with_env_invalid_key(key: str) -> None:
    with pytest.raises(ValueError, match="environment variable name"):
        llb.scratch().with_env(key, "x")


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["/srv"], "/srv"),
        (["/srv", "app"], "/srv/app"),
        (["/srv", "../etc"], "/etc"),
        (["app", "b/"], "/app/b"),
        (["/srv/", "."], "/srv"),
        (["/srv/"], "/srv/"),
    ],
)
def test_with_cwd(steps: list[str], expected: str) -> None:
    state = llb.scratch()
    for step in steps:
        state = state.with_cwd(step)
    assert state.cwd == expected


def test_with_image_config() -> None:
    state = llb.image("php").with_env("A", "0")
    configured = state.with_image_config(
        ["PATH=/usr/bin", "A=1", "EMPTY", "=skipped", "X=a=b"],
        "/var/www",
        "www-data",
    )
    assert configured.env == {"PATH": "/usr/bin", "A": "1", "EMPTY": "", "X": "a=b"}
    assert configured.cwd == "/var/www"
    assert configured.user == "www-data"


def test_with_image_config_empty_keeps_state() -> None:
    state = llb.image("php").with_cwd("/srv").with_user("nobody")
    configured = state.with_image_config([], None, None)
    assert configured == state


def test_with_image_config_platform() -> None:
    arm = llb.Platform(architecture="arm64")
    assert llb.scratch().with_image_config(platform=arm).platform == arm


@pytest.mark.parametrize(
    ("architecture", "variant", "expected"),
    [
        ("x86_64", "", ("amd64", "")),
        ("amd64", "v1", ("amd64", "")),
        ("amd64", "v3", ("amd64", "v3")),
        ("aarch64", "v8", ("arm64", "")),
        ("arm64", "9", ("arm64", "v9")),
        ("armhf", "", ("arm", "v7")),
        ("armel", "", ("arm", "v6")),
        ("arm", "", ("arm", "v7")),
        ("arm", "6", ("arm", "v6")),
        ("i386", "", ("386", "")),
        ("s390x", "", ("s390x", "")),
    ],
)
def test_platform_normalized(
    architecture: str, variant: str, expected: tuple[str, str]
) -> None:
    platform = llb.Platform(architecture=architecture, variant=variant)
    assert (platform.architecture, platform.variant) == expected


def test_platform_default_is_host() -> None:
    platform = llb.Platform()
    assert platform.os == "linux"
    assert platform.architecture


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", llb.Platform("linux", "amd64")),
        ("linux/arm/v6", llb.Platform("linux", "arm", "v6")),
        ("linux/arm64/v8", llb.Platform("linux", "arm64")),
    ],
)
def test_platform_parse(text: str, expected: llb.Platform) -> None:
    assert llb.Platform.parse(text) == expected


@pytest.mark.parametrize("text", ["linux", "linux//", "a/b/c/d", ""])
def test_platform_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="invalid platform"):
        llb.Platform.parse(text)


def test_platform_str() -> None:
    assert str(llb.Platform("linux", "arm", "v7")) == "linux/arm/v7"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "."),
        ("/", "/"),
        ("//a//b/", "/a/b"),
        ("///a", "/a"),
        ("a/../..", ".."),
        ("/../a", "/a"),
        ("./a/./b", "a/b"),
    ],
)
def test_paths_clean(path: str, expected: str) -> None:
    assert paths.clean(path) == expected


@pytest.mark.parametrize(
    ("elements", "expected"),
    [
        (("", ""), ""),
        (("/", "a", "b"), "/a/b"),
        (("a", "", "b"), "a/b"),
        (("/srv", "../etc"), "/etc"),
    ],
)
def test_paths_join(elements: tuple[str, ...], expected: str) -> None:
    assert paths.join(*elements) == expected
