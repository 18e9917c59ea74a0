"""flense's BuildKit client against the real engine (dockerd's BuildKit here).

The LLB graphs are built by hand with the generated protobuf classes, so that
these tests exercise the client alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import textwrap
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from flense.engine.client import Client, parse_output
from flense.engine.filesync import sender as sender_module
from flense.engine.proto import control_pb2
from flense.errors import EngineError, UsageError
from flense.llb.proto import ops_pb2

pytestmark = pytest.mark.engine

BUSYBOX = "flense-test/busybox:latest"
PLATFORM = ops_pb2.Platform(OS="linux", Architecture="amd64")
MTIME_NS = 1_500_000_000_000_000_000


# --- LLB helpers --------------------------------------------------------------


def _marshal(op: ops_pb2.Op) -> bytes:
    return op.SerializeToString(deterministic=True)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Graph:
    """A tiny LLB builder: ops in order, each optionally named."""

    def __init__(self) -> None:
        self._ops: list[bytes] = []
        self._metadata: dict[str, ops_pb2.OpMetadata] = {}

    def add(self, op: ops_pb2.Op, name: str = "", **caps: bool) -> str:
        op.constraints.SetInParent()
        data = _marshal(op)
        digest = _digest(data)
        self._ops.append(data)
        metadata = ops_pb2.OpMetadata()
        if name:
            metadata.description["llb.customname"] = name
        for cap in caps:
            metadata.caps[cap.replace("_", ".")] = True
        self._metadata[digest] = metadata
        return digest

    def definition(self, result: str) -> ops_pb2.Definition:
        terminal = ops_pb2.Op(inputs=[ops_pb2.Input(digest=result, index=0)])
        definition = ops_pb2.Definition(metadata=self._metadata)
        getattr(definition, "def").extend([*self._ops, _marshal(terminal)])
        return definition


def local_source(
    graph: Graph,
    name: str = "context",
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    unique: str = "",
) -> str:
    attrs = {}
    if unique:
        attrs["local.unique"] = unique
    if include:
        attrs["local.includepattern"] = json.dumps(list(include))
    if exclude:
        attrs["local.excludepatterns"] = json.dumps(list(exclude))
    op = ops_pb2.Op(source=ops_pb2.SourceOp(identifier=f"local://{name}", attrs=attrs))
    return graph.add(op, f"[test] local {name}", source_local=True)


def copy_onto_scratch(graph: Graph, source: str) -> str:
    op = ops_pb2.Op(inputs=[ops_pb2.Input(digest=source, index=0)])
    action = op.file.actions.add(input=-1, secondaryInput=0, output=0)
    action.copy.src = "/"
    action.copy.dest = "/"
    action.copy.mode = -1
    action.copy.timestamp = -1
    action.copy.dirCopyContents = True
    action.copy.createDestPath = True
    action.copy.allowWildcard = True
    action.copy.allowEmptyWildcard = True
    return graph.add(op, "[test] copy context", file_base=True)


def context_definition(
    include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> ops_pb2.Definition:
    graph = Graph()
    source = local_source(graph, include=include, exclude=exclude)
    return graph.definition(copy_onto_scratch(graph, source))


def exec_definition(args: Sequence[str], name: str) -> ops_pb2.Definition:
    graph = Graph()
    image = ops_pb2.Op(
        source=ops_pb2.SourceOp(identifier=f"docker-image://docker.io/{BUSYBOX}"),
        platform=PLATFORM,
    )
    image_digest = graph.add(image, "[test] busybox", source_image=True)
    run = ops_pb2.Op(inputs=[ops_pb2.Input(digest=image_digest)], platform=PLATFORM)
    run.exec.meta.args.extend(args)
    run.exec.meta.env.append("PATH=/bin:/usr/bin:/sbin:/usr/sbin")
    run.exec.meta.cwd = "/"
    run.exec.mounts.add(input=0, dest="/", output=0)
    digest = graph.add(run, name, exec_meta_base=True)
    definition = graph.definition(digest)
    definition.metadata[digest].ignore_cache = True
    return definition


# --- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with Client.connect() as connected:
        yield connected


@pytest.fixture(scope="module")
def busybox_image() -> str:
    """The busybox image; imported from the host's busybox when missing."""
    found = subprocess.run(
        ["docker", "image", "inspect", BUSYBOX], capture_output=True, check=False
    )
    if found.returncode == 0:
        return BUSYBOX
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip(f"{BUSYBOX} is missing; create it with scripts/base-images.sh")
    rootfs = Path(os.environ.get("TMPDIR", "/tmp")) / f"flense-busybox-{uuid.uuid4()}"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(busybox, rootfs / "bin/busybox")
    (rootfs / "bin/sh").symlink_to("busybox")
    try:
        tar = subprocess.run(
            ["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True
        )
        subprocess.run(["docker", "import", "-", BUSYBOX], input=tar.stdout, check=True)
    finally:
        shutil.rmtree(rootfs)
    return BUSYBOX


def make_context(root: Path) -> None:
    """Write a tree with every kind of entry the file sync must carry."""
    (root / "bin").mkdir(parents=True)
    (root / "bin/run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(root / "bin/run.sh", 0o755)
    (root / "bin/setuid-tool").write_bytes(b"\x7fELF fake")
    os.chmod(root / "bin/setuid-tool", 0o4755)
    (root / "shared").mkdir()
    os.chmod(root / "shared", 0o2775)
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)

    (root / "private.txt").write_text("secret-ish\n")
    os.chmod(root / "private.txt", 0o600)
    (root / "empty dir/nested empty").mkdir(parents=True)
    (root / "name with spaces.txt").write_text("spaces\n")
    (root / "café ñandú.txt").write_text("non-ascii\n")
    (root / "日本語").mkdir()
    (root / "日本語/ファイル.txt").write_text("japanese\n")
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (root / "empty-file").write_bytes(b"")

    (root / "link-relative").symlink_to("bin/run.sh")
    (root / "link-absolute").symlink_to("/etc/passwd")
    (root / "link-dangling").symlink_to("does/not/exist")
    (root / "link-to-dir").symlink_to("bin")
    (root / "hard-a").write_text("hardlinked\n")
    os.link(root / "hard-a", root / "hard-b")

    (root / "logs").mkdir()
    (root / "logs/app.log").write_text("excluded\n")
    (root / "debug.log").write_text("excluded\n")
    (root / "node_modules/pkg").mkdir(parents=True)
    (root / "node_modules/pkg/index.js").write_text("excluded\n")

    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, ns=(MTIME_NS, MTIME_NS), follow_symlinks=False)


def describe_tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Map each path below root to (type, permission bits, content or target)."""
    tree: dict[str, tuple[object, ...]] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            info = os.lstat(path)
            relative = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                tree[relative] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                tree[relative] = ("dir", oct(stat.S_IMODE(info.st_mode)))
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                tree[relative] = ("file", oct(stat.S_IMODE(info.st_mode)), digest)
    return tree


def without(tree: Mapping[str, tuple[object, ...]], *prefixes: str) -> dict:
    return {
        path: value
        for path, value in tree.items()
        if not any(path == p or path.startswith(p + "/") for p in prefixes)
    }


EXCLUDES = ["*.log", "logs", "node_modules"]
EXCLUDED_PATHS = ("debug.log", "logs", "node_modules")


# --- tests --------------------------------------------------------------------


def test_info_dockerd(client: Client) -> None:
    info = client.info()
    assert info.kind == "dockerd"
    assert "mergeop" in info.caps
    assert "diffop" in info.caps
    assert info.buildkit_version.startswith("v0.")


def test_local_export_matches_source(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    make_context(context)
    out = tmp_path / "out"

    result = client.solve(
        context_definition(exclude=EXCLUDES),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=local,dest={out}")],
        shared_key=str(uuid.uuid4()),
    )

    assert describe_tree(out) == without(describe_tree(context), *EXCLUDED_PATHS)
    assert os.lstat(out / "hard-a").st_ino == os.lstat(out / "hard-b").st_ino
    assert os.lstat(out / "bin/run.sh").st_mtime_ns == MTIME_NS
    assert os.lstat(out / "link-relative").st_mtime_ns == MTIME_NS
    assert os.lstat(out / "empty dir").st_mtime_ns == MTIME_NS
    assert len(result.transfers) == 1
    assert result.transfers[0].dir_name == "context"


def test_local_export_include_patterns(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    make_context(context)
    out = tmp_path / "out"

    client.solve(
        context_definition(include=["bin", "日本語/*.txt"], exclude=["bin/setuid-*"]),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=local,dest={out}")],
    )

    exported = sorted(describe_tree(out))
    assert exported == ["bin", "bin/run.sh", "日本語", "日本語/ファイル.txt"]


def test_second_solve_sends_only_changes(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    make_context(context)
    key = str(uuid.uuid4())
    definition = context_definition(exclude=EXCLUDES)

    def solve() -> sender_module.TransferStats:
        result = client.solve(
            definition,
            local_dirs={"context": context},
            outputs=[parse_output(f"type=local,dest={tmp_path / 'out'}")],
            shared_key=key,
        )
        assert len(result.transfers) == 1
        return result.transfers[0]

    first = solve()
    second = solve()
    (context / "name with spaces.txt").write_text("changed content\n")
    third = solve()

    assert first.files_sent == 9
    assert first.bytes_sent > 3 * 1024 * 1024
    assert second.files_sent == 0
    assert second.bytes_sent == 0
    assert third.files_sent == 1
    assert third.bytes_sent == len("changed content\n")
    exported = (tmp_path / "out/name with spaces.txt").read_text()
    assert exported == "changed content\n"
    # The daemon re-links a hardlink whose size differs from its previous
    # copy's, and that left a temporary file in the copy.
    leftovers = [p.name for p in (tmp_path / "out").rglob(".tmp.*")]
    assert leftovers == []
    assert (tmp_path / "out/hard-b").samefile(tmp_path / "out/hard-a")


def test_tar_export(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    make_context(context)
    archive = tmp_path / "out.tar"

    client.solve(
        context_definition(exclude=EXCLUDES),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=tar,dest={archive}")],
    )

    with tarfile.open(archive) as tar:
        members = {member.name.removeprefix("./"): member for member in tar}
    expected = set(without(describe_tree(context), *EXCLUDED_PATHS))
    assert set(members) == expected
    assert members["link-relative"].issym()
    assert members["link-relative"].linkname == "bin/run.sh"
    assert members["bin/setuid-tool"].mode == 0o4755


def test_local_and_tar_exports_together(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    make_context(context)

    client.solve(
        context_definition(exclude=EXCLUDES),
        local_dirs={"context": context},
        outputs=[
            parse_output(f"type=tar,dest={tmp_path / 'out.tar'}"),
            parse_output(f"type=local,dest={tmp_path / 'out'}"),
        ],
    )

    assert (tmp_path / "out/big.bin").read_bytes() == (context / "big.bin").read_bytes()
    with tarfile.open(tmp_path / "out.tar") as tar:
        assert "big.bin" in {m.name.removeprefix("./") for m in tar}


def test_moby_export_tags_image(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    make_context(context)
    tag = f"flense-test/engine-client:{uuid.uuid4().hex[:12]}"

    try:
        result = client.solve(
            context_definition(exclude=EXCLUDES),
            local_dirs={"context": context},
            outputs=[parse_output(f"type=image,name={tag}")],
        )
        inspected = subprocess.run(
            ["docker", "image", "inspect", tag, "--format", "{{.Id}}"],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)

    assert inspected.returncode == 0, inspected.stderr
    assert inspected.stdout.strip() == result.exporter_response["containerimage.digest"]


def test_exec_failure_names_vertex(client: Client, busybox_image: str) -> None:
    definition = exec_definition(
        ["/bin/sh", "-c", f"echo {uuid.uuid4()}; echo last words >&2; exit 3"],
        "[busybox] fail on purpose",
    )

    with pytest.raises(EngineError) as raised:
        client.solve(definition, local_dirs={})

    message = str(raised.value)
    assert "[busybox] fail on purpose" in message
    assert "exit code: 3" in message
    assert "last words" in message


def test_status_reaches_callback(client: Client, busybox_image: str) -> None:
    responses: list[control_pb2.StatusResponse] = []
    definition = exec_definition(
        ["/bin/sh", "-c", f"echo hello-{uuid.uuid4()}"], "[busybox] say hello"
    )

    client.solve(definition, local_dirs={}, on_status=responses.append)

    names = {v.name for r in responses for v in r.vertexes}
    logs = b"".join(log.msg for r in responses for log in r.logs)
    assert "[busybox] say hello" in names
    assert b"hello-" in logs


def test_unknown_local_dir_fails(client: Client, tmp_path: Path) -> None:
    graph = Graph()
    # A vertex shared with the previous run of this test, while the engine
    # still tears that run down, can fail with "context canceled" instead.
    source = local_source(graph, "not-given", unique=str(uuid.uuid4()))
    definition = graph.definition(copy_onto_scratch(graph, source))

    with pytest.raises(EngineError, match="no access allowed to dir 'not-given'"):
        client.solve(definition, local_dirs={"context": tmp_path})


def test_missing_local_dir_rejected(client: Client, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not an existing directory"):
        client.solve(context_definition(), local_dirs={"context": tmp_path / "missing"})


def test_control_stream_session(tmp_path: Path) -> None:
    """The buildkitd session transport (Control.Session), run against dockerd."""
    context = tmp_path / "context"
    make_context(context)
    out = tmp_path / "out"

    with Client.connect() as connected:
        connected.session_transport = "control-stream"
        connected.solve(
            context_definition(exclude=EXCLUDES),
            local_dirs={"context": context},
            outputs=[parse_output(f"type=local,dest={out}")],
        )

    assert describe_tree(out) == without(describe_tree(context), *EXCLUDED_PATHS)


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("unix:///nonexistent/buildkitd.sock", "cannot reach buildkitd at unix://"),
        ("tcp://127.0.0.1:1", "cannot reach buildkitd at tcp://127.0.0.1:1"),
        ("docker:///nonexistent/docker.sock", "cannot reach the Docker Engine"),
        ("unix:///var/run/docker.sock", "write docker:///var/run/docker.sock"),
    ],
)
def test_unreachable_address(addr: str, expected: str) -> None:
    started = time.monotonic()
    with pytest.raises(EngineError) as raised:
        Client.connect(addr)
    assert expected in str(raised.value)
    assert time.monotonic() - started < 15


def test_health_checked_during_long_transfer(
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The daemon checks the session every 5 s, so a 12 s transfer receives checks."""
    context = tmp_path / "context"
    context.mkdir()
    for index in range(4):
        (context / f"slow-{index}.bin").write_bytes(os.urandom(1024))
    original = sender_module._Transfer._send_file

    def slow_send_file(self: object, file_id: int, path: str) -> None:
        time.sleep(12)  # a slow disk: each of the four file workers waits
        original(self, file_id, path)  # type: ignore[arg-type]

    monkeypatch.setattr(sender_module._Transfer, "_send_file", slow_send_file)
    caplog.set_level(logging.DEBUG, logger="flense.engine.session")

    result = client.solve(
        context_definition(),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=local,dest={tmp_path / 'out'}")],
        shared_key=str(uuid.uuid4()),
    )

    checks = [r for r in caplog.records if "health check" in r.getMessage()]
    assert len(checks) >= 2
    assert result.transfers[0].files_sent == 4


INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {test_dir!r})
    from test_engine_client import exec_definition
    from flense.engine.client import Client

    def on_status(response):
        for vertex in response.vertexes:
            if vertex.name == "[busybox] sleep" and vertex.HasField("started"):
                print("STARTED", flush=True)

    definition = exec_definition(
        ["/bin/sh", "-c", "sleep 120; echo {marker}"], "[busybox] sleep"
    )
    with Client.connect() as client:
        client.solve(
            definition,
            local_dirs={{}},
            on_status=on_status,
        )
    """
)


def _sleep_running(marker: str) -> bool:
    """Tell whether the build's shell runs (build containers share our kernel)."""
    pattern = f"^/bin/sh -c sleep 120; echo {marker}"
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, check=False)
    return found.returncode == 0


def test_interrupt_cancels_build(busybox_image: str) -> None:
    marker = f"flense-interrupt-{uuid.uuid4()}"
    script = INTERRUPT_SCRIPT.format(test_dir=str(Path(__file__).parent), marker=marker)
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "STARTED"
        deadline = time.monotonic() + 10
        while not _sleep_running(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        running_before = _sleep_running(marker)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 15
        while _sleep_running(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert running_before
    assert process.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert elapsed < 20
    assert not _sleep_running(marker)
