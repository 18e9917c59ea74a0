"""Exec ops: mounts, output numbering, environment and caps."""

from __future__ import annotations

import pytest

from flense import llb
from flense.llb.proto import ops_pb2

AMD64 = llb.Platform(os="linux", architecture="amd64")


def exec_op(state: llb.State) -> tuple[ops_pb2.Op, ops_pb2.OpMetadata, list[str]]:
    """Return the result op, its metadata and the digests in def order."""
    definition = llb.marshal(state, platform=AMD64)
    entries = {entry.digest: entry for entry in definition.ops}
    head = entries[definition.head]
    return head.op, head.metadata, [entry.digest for entry in definition.ops]


def several_mounts() -> llb.ExecState:
    base = llb.image("alpine")
    source = llb.local("src")
    return base.run(
        ["build"],
        mounts=[
            llb.bind("/work", llb.scratch()),
            llb.cache_mount("/cache", "npm", "locked"),
            llb.bind("/src", source, readonly=True),
            llb.tmpfs("/tmp", size_bytes=1 << 20),
            llb.bind("/out", llb.scratch()),
            llb.bind("/logs", llb.scratch(), output=False),
        ],
    )


def test_mounts_sorted_root_first() -> None:
    op, _, _ = exec_op(several_mounts())
    dests = [mount.dest for mount in op.exec.mounts]
    assert dests == ["/", "/cache", "/logs", "/out", "/src", "/tmp", "/work"]


@pytest.mark.parametrize(
    ("dest", "output"),
    [
        ("/", 0),
        ("/cache", -1),
        ("/logs", -1),
        ("/out", 1),
        ("/src", -1),
        ("/tmp", -1),
        ("/work", 2),
    ],
)
def test_mount_output_numbering(dest: str, output: int) -> None:
    op, _, _ = exec_op(several_mounts())
    mounts = {mount.dest: mount for mount in op.exec.mounts}
    assert mounts[dest].output == output


@pytest.mark.parametrize(("dest", "index"), [("/out", 1), ("/work", 2)])
def test_mount_output_index(dest: str, index: int) -> None:
    ran = several_mounts()
    state = ran.mount_output(dest).file(llb.mkdir("/x"))
    definition = llb.marshal(state, platform=AMD64)
    file_op = definition.ops[-2].op
    assert file_op.inputs[0].index == index


def test_mount_inputs_and_types() -> None:
    op, _, _ = exec_op(several_mounts())
    mounts = {mount.dest: mount for mount in op.exec.mounts}
    assert len(op.inputs) == 2
    assert mounts["/"].input == 0
    assert mounts["/src"].input == 1
    assert mounts["/src"].readonly
    assert mounts["/work"].input == -1
    assert mounts["/cache"].input == -1
    assert mounts["/cache"].mountType == ops_pb2.CACHE
    assert mounts["/cache"].cacheOpt == ops_pb2.CacheOpt(
        ID="npm", sharing=ops_pb2.LOCKED
    )
    assert mounts["/tmp"].mountType == ops_pb2.TMPFS
    assert mounts["/tmp"].TmpfsOpt.size == 1 << 20


def test_several_mounts_caps() -> None:
    _, metadata, _ = exec_op(several_mounts())
    assert sorted(metadata.caps) == [
        "exec.meta.base",
        "exec.mount.bind",
        "exec.mount.cache",
        "exec.mount.cache.sharing",
        "exec.mount.tmpfs",
        "exec.mount.tmpfs.size",
    ]


def test_inputs_deduplicated() -> None:
    source = llb.local("src")
    ran = llb.image("alpine").run(
        ["true"],
        mounts=[
            llb.bind("/a", source, readonly=True),
            llb.bind("/b", source, readonly=True, selector="sub"),
        ],
    )
    op, metadata, _ = exec_op(ran)
    assert len(op.inputs) == 2
    assert [mount.input for mount in op.exec.mounts] == [0, 1, 1]
    assert "exec.mount.selector" in metadata.caps


def test_inputs_deduplicated_by_digest() -> None:
    ran = llb.image("alpine").run(
        ["true"],
        mounts=[
            llb.bind("/a", llb.local("src"), readonly=True),
            llb.bind("/b", llb.local("src"), readonly=True),
        ],
    )
    op, _, _ = exec_op(ran)
    assert len(op.inputs) == 2


def test_scratch_root_mount() -> None:
    op, metadata, _ = exec_op(llb.scratch().run(["/bin/true"]))
    assert op.exec.mounts[0].input == -1
    assert not op.inputs
    assert "exec.mount.bind" not in metadata.caps


def test_env_in_insertion_order() -> None:
    state = llb.image("alpine").with_env("B", "2").with_env("A", "1")
    op, _, _ = exec_op(state.run(["env"]))
    assert list(op.exec.meta.env) == ["B=2", "A=1"]


def test_env_replacement_moves_to_end() -> None:
    state = llb.image("alpine").with_env("A", "1").with_env("B", "2")
    op, _, _ = exec_op(state.with_env("A", "3").run(["env"]))
    assert list(op.exec.meta.env) == ["B=2", "A=3"]


def test_env_path_left_to_daemon() -> None:
    op, _, _ = exec_op(llb.image("alpine").run(["env"]))
    assert list(op.exec.meta.env) == []


def test_run_options_apply_to_exec_only() -> None:
    base = llb.image("alpine").with_env("A", "1").with_cwd("/srv")
    ran = base.run(["ls"], env={"B": "2"}, cwd="app", user="nobody")
    op, _, _ = exec_op(ran)
    assert list(op.exec.meta.env) == ["A=1", "B=2"]
    assert op.exec.meta.cwd == "/srv/app"
    assert op.exec.meta.user == "nobody"
    assert ran.env == {"A": "1"}
    assert ran.cwd == "/srv"
    assert ran.user == ""


def test_network_and_security_caps() -> None:
    ran = llb.image("alpine").run(["true"], network="host", security="insecure")
    op, metadata, _ = exec_op(ran)
    assert op.exec.network == ops_pb2.HOST
    assert op.exec.security == ops_pb2.INSECURE
    assert "exec.meta.network" in metadata.caps
    assert "exec.meta.security" in metadata.caps


def test_proxy_env_and_hostname() -> None:
    proxy = llb.ProxyEnv(https_proxy="http://proxy:3128", no_proxy="localhost")
    ran = llb.image("alpine").run(["true"], proxy_env=proxy, hostname="builder")
    op, metadata, _ = exec_op(ran)
    assert op.exec.meta.proxy_env.https_proxy == "http://proxy:3128"
    assert op.exec.meta.proxy_env.no_proxy == "localhost"
    assert op.exec.meta.hostname == "builder"
    assert "exec.meta.proxyenv" in metadata.caps


def test_secret_and_ssh_mounts_appended() -> None:
    ran = llb.image("alpine").run(
        ["true"],
        mounts=[
            llb.ssh_mount(),
            llb.secret_mount("/run/secrets/token", "token", uid=33),
            llb.bind("/out", llb.scratch()),
        ],
    )
    op, metadata, _ = exec_op(ran)
    mounts = list(op.exec.mounts)
    assert [mount.dest for mount in mounts] == [
        "/",
        "/out",
        "/run/secrets/token",
        "/run/buildkit/ssh_agent.0",
    ]
    assert mounts[2].mountType == ops_pb2.SECRET
    assert mounts[2].input == -1
    assert mounts[2].secretOpt == ops_pb2.SecretOpt(ID="token", uid=33, mode=0o400)
    assert mounts[3].mountType == ops_pb2.SSH
    assert mounts[3].SSHOpt.mode == 0o600
    assert list(op.exec.meta.env) == ["SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0"]
    assert "exec.mount.secret" in metadata.caps
    assert "exec.mount.ssh" in metadata.caps


def test_readonly_rootfs_numbering() -> None:
    base = llb.image("alpine")
    ran = base.run(
        ["true"], mounts=[llb.bind("/out", llb.scratch())], readonly_rootfs=True
    )
    assert ran.output == base.output
    definition = llb.marshal(ran.mount_output("/out"), platform=AMD64)
    op = definition.ops[-2].op
    assert [(mount.dest, mount.output) for mount in op.exec.mounts] == [
        ("/", -1),
        ("/out", 0),
    ]
    assert definition.head_index == 0


def test_mount_output_readonly_is_source() -> None:
    source = llb.local("src")
    ran = llb.image("alpine").run(
        ["true"], mounts=[llb.bind("/src", source, readonly=True)]
    )
    assert ran.mount_output("/src") is source


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        (llb.cache_mount("/m", "c"), "has no output"),
        (llb.tmpfs("/m"), "has no output"),
        (llb.bind("/m", llb.scratch(), output=False), "has no output"),
    ],
)
def test_mount_output_without_output_raises(mount: llb.Mount, message: str) -> None:
    ran = llb.image("alpine").run(["true"], mounts=[mount])
    with pytest.raises(ValueError, match=message):
        ran.mount_output("/m")


def test_mount_output_unknown_raises() -> None:
    ran = llb.image("alpine").run(["true"])
    with pytest.raises(ValueError, match="no mount at '/nope'"):
        ran.mount_output("/nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"args": "echo hi"}, "non-empty list"),
        ({"args": []}, "non-empty list"),
        ({"args": ["true"], "network": "bridge"}, "network mode"),
        ({"args": ["true"], "security": "root"}, "security mode"),
        ({"args": ["true"], "mounts": [llb.tmpfs("relative")]}, "absolute"),
        (
            {"args": ["true"], "mounts": [llb.bind("/", llb.scratch())]},
            "root filesystem",
        ),
        (
            {"args": ["true"], "mounts": [llb.tmpfs("/a"), llb.tmpfs("/a")]},
            "duplicate mount",
        ),
    ],
)
def test_run_invalid_raises(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        llb.image("alpine").run(**kwargs)  # type: ignore[arg-type]


def test_exec_custom_name_and_group() -> None:
    group = llb.ProgressGroup("g1", "Group one")
    ran = llb.image("alpine").run(
        ["true"], name="[core] composer", progress_group=group
    )
    _, metadata, _ = exec_op(ran)
    assert metadata.description["llb.customname"] == "[core] composer"
    assert metadata.progress_group == ops_pb2.ProgressGroup(id="g1", name="Group one")


def test_exec_state_methods_return_state() -> None:
    ran = llb.image("alpine").run(["true"])
    assert type(ran.with_env("A", "1")) is llb.State
    assert type(ran.root) is llb.State
