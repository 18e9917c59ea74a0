"""File ops: action chaining, index conventions, defaults, owners, paths."""

from __future__ import annotations

import pytest

from flense import llb
from flense.llb.proto import ops_pb2

AMD64 = llb.Platform(os="linux", architecture="amd64")


def file_op(state: llb.State) -> tuple[ops_pb2.Op, ops_pb2.OpMetadata]:
    definition = llb.marshal(state, platform=AMD64)
    head = {entry.digest: entry for entry in definition.ops}[definition.head]
    return head.op, head.metadata


def test_chain_is_one_file_op() -> None:
    action = llb.mkdir("/a").mkfile("/a/f", 0o644, b"x").rm("/old")
    definition = llb.marshal(llb.image("alpine").file(action), platform=AMD64)
    kinds = [entry.op.WhichOneof("op") for entry in definition.ops]
    assert kinds == ["source", "file", None]


def test_chain_indexes() -> None:
    base = llb.image("alpine")
    assets, config = llb.local("assets"), llb.local("config")
    action = (
        llb.copy(assets, "/", "/a/")
        .mkdir("/b")
        .copy(config, "/", "/c/")
        .copy(assets, "/x", "/d")
    )
    op, _ = file_op(base.file(action))
    assert len(op.inputs) == 3
    rows = [(a.input, a.secondaryInput, a.output) for a in op.file.actions]
    assert rows == [(0, 1, -1), (3, -1, -1), (4, 2, -1), (5, 1, 0)]


def test_chain_on_scratch_indexes() -> None:
    assets = llb.local("assets")
    action = llb.mkdir("/a").copy(assets, "/", "/a/")
    op, _ = file_op(llb.scratch().file(action))
    assert len(op.inputs) == 1
    rows = [(a.input, a.secondaryInput, a.output) for a in op.file.actions]
    assert rows == [(-1, -1, -1), (1, 0, 0)]


def test_copy_from_scratch_source() -> None:
    op, _ = file_op(llb.image("alpine").file(llb.copy(llb.scratch(), "/", "/x")))
    (action,) = op.file.actions
    assert action.secondaryInput == -1


def test_copy_defaults() -> None:
    op, metadata = file_op(llb.image("alpine").file(llb.copy(llb.local("c"), "a", "b")))
    (action,) = op.file.actions
    assert action.copy == ops_pb2.FileActionCopy(
        src="/a", dest="/b", mode=-1, timestamp=-1
    )
    assert not action.copy.HasField("owner")
    assert sorted(metadata.caps) == ["file.base"]


def test_copy_options() -> None:
    copy = llb.copy(
        llb.local("c"),
        "/src",
        "/dst/",
        owner="33:33",
        mode=0o644,
        follow_symlinks=True,
        copy_dir_contents=True,
        create_dest_path=True,
        allow_wildcard=True,
        allow_empty_wildcard=True,
        include=["*.php"],
        exclude=["tests"],
        timestamp=0,
    )
    op, metadata = file_op(llb.image("alpine").file(copy))
    result = op.file.actions[0].copy
    assert result.mode == 0o644
    assert result.timestamp == 0
    assert result.followSymlink
    assert result.dirCopyContents
    assert result.createDestPath
    assert result.allowWildcard
    assert result.allowEmptyWildcard
    assert list(result.include_patterns) == ["*.php"]
    assert list(result.exclude_patterns) == ["tests"]
    assert result.owner.user.byID == 33
    assert result.owner.group.byID == 33
    assert "file.copy.includeexcludepatterns" in metadata.caps


@pytest.mark.parametrize(
    ("mode", "number", "text"),
    [
        ("0755", 0o755, ""),
        ("644", 0o644, ""),
        ("u+x", 0, "u+x"),
        (0o4755, 0o4755, ""),
    ],
)
def test_copy_mode(mode: int | str, number: int, text: str) -> None:
    op, _ = file_op(llb.image("a").file(llb.copy(llb.local("c"), "/", "/", mode=mode)))
    result = op.file.actions[0].copy
    assert result.mode == number
    assert result.modeStr == text


def test_copy_mode_string_cap() -> None:
    copy = llb.copy(llb.local("c"), "/", "/", mode="go-w")
    _, metadata = file_op(llb.image("alpine").file(copy))
    assert "file.copy.modestring" in metadata.caps


def test_copy_replace_cap() -> None:
    copy = llb.copy(llb.local("c"), "/", "/", always_replace_existing_dest_paths=True)
    op, metadata = file_op(llb.image("alpine").file(copy))
    assert op.file.actions[0].copy.alwaysReplaceExistingDestPaths
    assert "file.copy.alwaysreplaceexistingdestpaths" in metadata.caps


@pytest.mark.parametrize(
    ("cwd", "dest", "expected"),
    [
        ("/", "app", "/app"),
        ("/srv", "app/", "/srv/app/"),
        ("/srv", "/abs/./x/", "/abs/x/"),
        ("/srv", ".", "/srv"),
        ("/srv", "./", "/srv/"),
        ("/srv", "/.", "/."),
        ("/srv", "app/.", "/srv/app/."),
    ],
)
def test_copy_dest_normalized(cwd: str, dest: str, expected: str) -> None:
    base = llb.image("alpine").with_cwd(cwd)
    op, _ = file_op(base.file(llb.copy(llb.local("c"), "/", dest)))
    assert op.file.actions[0].copy.dest == expected


@pytest.mark.parametrize(
    ("cwd", "src", "expected"),
    [
        ("/", "src", "/src"),
        ("/", "src/", "/src"),
        ("/work", "out/a.txt", "/work/out/a.txt"),
        ("/work", "/abs", "/abs"),
        ("/work", ".", "/work"),
    ],
)
def test_copy_src_joins_source_cwd(cwd: str, src: str, expected: str) -> None:
    source = llb.image("builder").with_cwd(cwd)
    op, _ = file_op(llb.image("alpine").file(llb.copy(source, src, "/")))
    assert op.file.actions[0].copy.src == expected


def test_mkdir_mkfile_rm_fields() -> None:
    action = (
        llb.mkdir("d", 0o40755, parents=True, owner=1000, timestamp=5)
        .mkfile("d/f", 0o100644, "text")
        .rm("d/*.tmp", allow_not_found=True, allow_wildcard=True)
    )
    op, _ = file_op(llb.image("alpine").with_cwd("/srv").file(action))
    mkdir, mkfile, rm = (a for a in op.file.actions)
    assert mkdir.mkdir == ops_pb2.FileActionMkDir(
        path="/srv/d",
        mode=0o755,
        makeParents=True,
        owner=ops_pb2.ChownOpt(
            user=ops_pb2.UserOpt(byID=1000), group=ops_pb2.UserOpt(byID=1000)
        ),
        timestamp=5,
    )
    assert mkfile.mkfile == ops_pb2.FileActionMkFile(
        path="/srv/d/f", mode=0o644, data=b"text", timestamp=-1
    )
    assert rm.rm == ops_pb2.FileActionRm(
        path="/srv/d/*.tmp", allowNotFound=True, allowWildcard=True
    )


def test_symlink_fields_and_cap() -> None:
    action = llb.symlink("../lib/a.so", "/usr/lib/b.so", owner="0:0")
    op, metadata = file_op(llb.image("alpine").file(action))
    (result,) = op.file.actions
    assert result.symlink.oldpath == "../lib/a.so"
    assert result.symlink.newpath == "/usr/lib/b.so"
    assert result.symlink.timestamp == -1
    assert result.symlink.owner.user.HasField("byID")
    assert "file.symlink.create" in metadata.caps


@pytest.mark.parametrize(
    ("spec", "user", "group"),
    [
        ("65533:65533", 65533, 65533),
        ("root", 0, None),
        ("1000", 1000, None),
        ("root:root", 0, 0),
        ("www-data", "www-data", None),
        ("www-data:33", "www-data", 33),
        ("99999999999", "99999999999", None),
    ],
)
def test_owner_parse(spec: str, user: int | str, group: int | str | None) -> None:
    assert llb.Owner.parse(spec) == llb.Owner(user, group)


@pytest.mark.parametrize("spec", ["", ":33", "33:"])
def test_owner_parse_invalid(spec: str) -> None:
    with pytest.raises(ValueError, match="invalid owner"):
        llb.Owner.parse(spec)


def test_owner_root_serialized_as_id_zero() -> None:
    copy = llb.copy(llb.local("c"), "/", "/", owner="root")
    op, _ = file_op(llb.image("alpine").file(copy))
    owner = op.file.actions[0].copy.owner
    assert owner.user.WhichOneof("user") == "byID"
    assert owner.user.byID == 0


def test_owner_name_resolves_in_base() -> None:
    copy = llb.copy(llb.local("c"), "/", "/", owner="www-data:www-data")
    op, _ = file_op(llb.image("alpine").file(copy))
    owner = op.file.actions[0].copy.owner
    assert owner.user.byName == ops_pb2.NamedUserOpt(name="www-data", input=0)
    assert owner.group.byName == ops_pb2.NamedUserOpt(name="www-data", input=0)


@pytest.mark.parametrize(
    "action",
    [
        llb.copy(llb.local("c"), "/", "/", owner="www-data"),
        llb.mkdir("/x").mkdir("/y", owner="0:staff"),
        llb.mkfile("/f", 0o644, b"", owner=llb.Owner("nobody")),
    ],
)
def test_owner_name_on_scratch_raises(action: llb.FileAction) -> None:
    with pytest.raises(ValueError, match="scratch"):
        llb.scratch().file(action)


def test_file_op_has_no_platform() -> None:
    op, _ = file_op(llb.image("alpine").file(llb.mkdir("/x")))
    assert not op.HasField("platform")
    assert op.HasField("constraints")


def test_file_action_is_reusable() -> None:
    action = llb.mkdir("/x")
    first, _ = file_op(llb.image("alpine").file(action))
    second, _ = file_op(llb.image("busybox").file(action))
    assert first.file == second.file
    assert first.inputs != second.inputs


def test_file_rejects_non_action() -> None:
    with pytest.raises(TypeError, match="FileAction"):
        llb.image("alpine").file("mkdir /x")  # type: ignore[arg-type]
