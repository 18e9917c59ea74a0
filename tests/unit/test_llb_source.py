"""Source ops: image reference normalization, local attrs, git identifiers."""

from __future__ import annotations

import json

import pytest

from flense import llb
from flense.llb.proto import ops_pb2

AMD64 = llb.Platform(os="linux", architecture="amd64")
DIGEST = "sha256:" + "a" * 64


def source(state: llb.State) -> tuple[ops_pb2.Op, ops_pb2.OpMetadata]:
    definition = llb.marshal(state, platform=AMD64)
    entry = definition.ops[0]
    return entry.op, entry.metadata


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("alpine", "docker.io/library/alpine:latest"),
        ("alpine:3.20", "docker.io/library/alpine:3.20"),
        ("library/alpine", "docker.io/library/alpine:latest"),
        ("docker.io/alpine", "docker.io/library/alpine:latest"),
        ("index.docker.io/alpine", "docker.io/library/alpine:latest"),
        ("wikimedia/mediawiki", "docker.io/wikimedia/mediawiki:latest"),
        (
            "docker-registry.wikimedia.org/php8.2-fpm:8.2.1",
            "docker-registry.wikimedia.org/php8.2-fpm:8.2.1",
        ),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/app:1", "localhost:5000/app:1"),
        ("Registry/app", "Registry/app:latest"),
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
        (f"alpine@{DIGEST}", f"docker.io/library/alpine@{DIGEST}"),
        (f"alpine:3@{DIGEST}", f"docker.io/library/alpine:3@{DIGEST}"),
        ("a/b/c/d:v1.0-rc_1", "docker.io/a/b/c/d:v1.0-rc_1"),
    ],
)
def test_image_reference_normalized(ref: str, expected: str) -> None:
    assert llb.normalize_image_reference(ref) == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "empty"),
        ("Alpine", "must be lowercase"),
        ("a" * 64, "hexadecimal image ID"),
        ("alpine:", "invalid image reference"),
        ("alpine:-x", "invalid image reference"),
        ("alp ine", "invalid image reference"),
        ("alpine@sha256:abc", "invalid image reference"),
        ("alpine@md5:" + "a" * 32, "unsupported digest algorithm"),
        ("alpine@sha256:" + "a" * 63 + "A", "lowercase hexadecimal"),
        ("docker.io/" + "a" * 256, "longer than 255"),
        ("-x/app", "invalid image reference"),
    ],
)
def test_image_reference_invalid(ref: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        llb.image(ref)


def test_image_op() -> None:
    op, metadata = source(llb.image("alpine"))
    assert op.source.identifier == "docker-image://docker.io/library/alpine:latest"
    assert dict(op.source.attrs) == {}
    assert op.platform == ops_pb2.Platform(OS="linux", Architecture="amd64")
    assert sorted(metadata.caps) == ["source.image"]


@pytest.mark.parametrize(
    ("mode", "attrs", "caps"),
    [
        ("default", {}, ["source.image"]),
        (
            "pull",
            {"image.resolvemode": "pull"},
            ["source.image", "source.image.resolvemode"],
        ),
        ("local", {"image.resolvemode": "local"}, ["source.image"]),
    ],
)
def test_image_resolve_mode(mode: str, attrs: dict[str, str], caps: list[str]) -> None:
    op, metadata = source(llb.image("alpine", resolve_mode=mode))
    assert dict(op.source.attrs) == attrs
    assert sorted(metadata.caps) == caps


def test_image_resolve_mode_invalid() -> None:
    with pytest.raises(ValueError, match="resolve mode"):
        llb.image("alpine", resolve_mode="always")


def test_image_platform_on_state() -> None:
    arm = llb.Platform(architecture="arm64")
    assert llb.image("alpine", platform=arm).platform == arm
    assert llb.image("alpine").platform is None


def test_local_minimal() -> None:
    op, metadata = source(llb.local("context"))
    assert op.source.identifier == "local://context"
    assert dict(op.source.attrs) == {}
    assert not op.HasField("platform")
    assert sorted(metadata.caps) == ["source.local"]


def test_local_attrs() -> None:
    state = llb.local(
        "context",
        include=["extensions/Cite", "skins/<x>"],
        exclude=["**/.git", "vendor"],
        follow_paths=["extensions/Cite"],
        shared_key_hint="flense:Cite",
        differ="none",
        session_id="abc",
    )
    op, metadata = source(state)

    attrs = dict(op.source.attrs)
    expected_include = '["extensions/Cite","skins/\\u003cx\\u003e"]'
    assert attrs["local.includepattern"] == expected_include
    assert json.loads(attrs["local.excludepatterns"]) == ["**/.git", "vendor"]
    assert attrs["local.followpaths"] == '["extensions/Cite"]'
    assert attrs["local.sharedkeyhint"] == "flense:Cite"
    assert attrs["local.differ"] == "none"
    assert attrs["local.session"] == "abc"
    assert "local.includepatterns" not in attrs
    assert "local.unique" not in attrs

    assert sorted(metadata.caps) == [
        "source.local",
        "source.local.differ",
        "source.local.excludepatterns",
        "source.local.followpaths",
        "source.local.includepatterns",
        "source.local.sessionid",
        "source.local.sharedkeyhint",
    ]


def test_local_empty_lists_omitted() -> None:
    op, _ = source(llb.local("context", include=[], exclude=(), follow_paths=[]))
    assert dict(op.source.attrs) == {}


def test_local_non_ascii_kept() -> None:
    op, _ = source(llb.local("context", include=["docs/café"]))
    assert op.source.attrs["local.includepattern"] == '["docs/café"]'


def test_local_name_keyword_is_custom_name() -> None:
    _, metadata = source(llb.local("context", name="[Cite] transfer"))
    assert metadata.description["llb.customname"] == "[Cite] transfer"


def test_local_same_input_same_digest() -> None:
    first = llb.marshal(llb.local("context", include=["a"]), platform=AMD64)
    second = llb.marshal(llb.local("context", include=["a"]), platform=AMD64)
    assert first.head == second.head


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"directory": ""}, "local directory name"),
        ({"directory": "c", "differ": "content"}, "invalid differ"),
    ],
)
def test_local_invalid(kwargs: dict[str, str], message: str) -> None:
    directory = kwargs.pop("directory")
    with pytest.raises(ValueError, match=message):
        llb.local(directory, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("remote", "ref", "subdir", "identifier", "fullurl"),
    [
        (
            "https://github.com/moby/buildkit.git",
            None,
            None,
            "git://github.com/moby/buildkit.git",
            "https://github.com/moby/buildkit.git",
        ),
        (
            "https://github.com/moby/buildkit.git",
            "v0.13.2",
            None,
            "git://github.com/moby/buildkit.git#v0.13.2",
            "https://github.com/moby/buildkit.git",
        ),
        (
            "git@github.com:moby/buildkit.git",
            "main",
            "/docs/../client/",
            "git://github.com/moby/buildkit.git#main:client",
            "git@github.com:moby/buildkit.git",
        ),
        (
            "github.com/moby/buildkit",
            None,
            "docs",
            "git://github.com/moby/buildkit#:docs",
            "https://github.com/moby/buildkit",
        ),
        (
            "https://gerrit.wikimedia.org/r/mediawiki/core#wmf/1.44:includes",
            None,
            None,
            "git://gerrit.wikimedia.org/r/mediawiki/core#wmf/1.44:includes",
            "https://gerrit.wikimedia.org/r/mediawiki/core",
        ),
        (
            "ssh://git@example.org:2222/repo.git",
            None,
            None,
            "git://example.org:2222/repo.git",
            "ssh://git@example.org:2222/repo.git",
        ),
    ],
)
def test_git_identifier(
    remote: str, ref: str | None, subdir: str | None, identifier: str, fullurl: str
) -> None:
    op, _ = source(llb.git(remote, ref, subdir=subdir))
    assert op.source.identifier == identifier
    assert op.source.attrs["git.fullurl"] == fullurl


def test_git_https_attrs_and_caps() -> None:
    op, metadata = source(llb.git("https://example.org/r.git", keep_git_dir=True))
    assert dict(op.source.attrs) == {
        "git.fullurl": "https://example.org/r.git",
        "git.authtokensecret": "GIT_AUTH_TOKEN",
        "git.authheadersecret": "GIT_AUTH_HEADER",
        "git.keepgitdir": "true",
    }
    assert sorted(metadata.caps) == [
        "source.git",
        "source.git.fullurl",
        "source.git.keepgitdir",
    ]
    assert not op.HasField("platform")


def test_git_ssh_attrs_and_caps() -> None:
    state = llb.git(
        "git@example.org:r.git", known_ssh_hosts="example.org ssh-ed25519 K"
    )
    op, metadata = source(state)
    assert op.source.attrs["git.mountsshsock"] == "default"
    assert op.source.attrs["git.knownsshhosts"] == "example.org ssh-ed25519 K\n"
    assert "source.git.mountsshsock" in metadata.caps
    assert "source.git.knownsshhosts" in metadata.caps


def test_git_https_and_ssh_same_identifier() -> None:
    https, _ = source(llb.git("https://github.com/moby/buildkit.git", "v1"))
    ssh, _ = source(llb.git("git@github.com:moby/buildkit.git", "v1"))
    assert https.source.identifier == ssh.source.identifier


@pytest.mark.parametrize(
    ("remote", "kwargs", "message"),
    [
        ("ftp://example.org/r.git", {}, "unsupported protocol"),
        ("https://example.org/r.git#main", {"ref": "dev"}, "fragment"),
    ],
)
def test_git_invalid(remote: str, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        llb.git(remote, **kwargs)  # type: ignore[arg-type]
