"""Exports and transfer logs of flense's BuildKit client against the real engine.

Covers exports that stay invisible until the build succeeds, log lines that
name the component a transfer belongs to, transfers the daemon cancels, and
file names that are not UTF-8. The LLB helpers come from test_engine_client.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import tarfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_engine_client import (
    BUSYBOX,
    PLATFORM,
    Graph,
    busybox_image,  # noqa: F401 (a fixture used by name)
    context_definition,
    copy_onto_scratch,
    local_source,
)

from flense import llb
from flense.build import BuildRequest, run_build
from flense.engine.client import Client, parse_output
from flense.engine.filesync import sender as sender_module
from flense.errors import EngineError
from flense.llb.proto import ops_pb2

pytestmark = pytest.mark.engine

# Large enough that an interrupt lands in the middle of the export: exporting
# it took about 1 s with Docker 26.1.5 when this test was written.
BIG_FILE_BYTES = 256 * 1024 * 1024
SENDER_LOGGER = "flense.engine.filesync.sender"
MTIME_NS = 1_500_000_000_000_000_000


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with Client.connect() as connected:
        yield connected


def staging_leftovers(directory: Path) -> list[str]:
    """Names below directory that a staged export leaves behind."""
    return [
        str(path.relative_to(directory))
        for path in directory.rglob("*")
        if ".flense-staging-" in path.name
    ]


# --- exports move into place only when the build succeeded --------------------


def test_tar_export_replaces_file(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "new.txt").write_text("new\n")
    archive = tmp_path / "out/image.tar"
    archive.parent.mkdir()
    archive.write_text("an older archive")

    client.solve(
        context_definition(),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=tar,dest={archive}")],
    )

    with tarfile.open(archive) as tar:
        names = [member.name.removeprefix("./") for member in tar]
    assert names == ["new.txt"]
    assert os.listdir(archive.parent) == ["image.tar"]


def test_local_export_creates_directory(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    (context / "docs").mkdir(parents=True)
    # Unique content, because the daemon caches the copy by content and
    # would return an earlier run's directory mtime.
    (context / "docs/readme.txt").write_text(f"readme {uuid.uuid4()}\n")
    os.utime(context / "docs", ns=(MTIME_NS, MTIME_NS))
    os.chmod(context / "docs", 0o555)
    out = tmp_path / "out"

    client.solve(
        context_definition(),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=local,dest={out}")],
    )

    assert (out / "docs/readme.txt").read_text().startswith("readme ")
    assert stat.S_IMODE(os.lstat(out / "docs").st_mode) == 0o555
    assert os.lstat(out / "docs").st_mtime_ns == MTIME_NS
    assert sorted(os.listdir(tmp_path)) == ["context", "out"]


def test_local_export_merges_into_existing(client: Client, tmp_path: Path) -> None:
    context = tmp_path / "context"
    (context / "shared").mkdir(parents=True)
    (context / "shared/new.txt").write_text("new\n")
    (context / "replaced").write_text("a file now\n")
    out = tmp_path / "out"
    (out / "shared").mkdir(parents=True)
    (out / "shared/old.txt").write_text("old\n")
    (out / "replaced").mkdir()
    (out / "replaced/inside.txt").write_text("gone\n")
    (out / "untouched.txt").write_text("kept\n")

    client.solve(
        context_definition(),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=local,dest={out}")],
    )

    assert (out / "shared/old.txt").read_text() == "old\n"
    assert (out / "shared/new.txt").read_text() == "new\n"
    assert (out / "replaced").read_text() == "a file now\n"
    assert (out / "untouched.txt").read_text() == "kept\n"
    assert staging_leftovers(out) == []


INTERRUPT_EXPORT_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {test_dir!r})
    from test_engine_client import context_definition
    from flense.engine.client import Client, parse_output

    with Client.connect() as client:
        client.solve(
            context_definition(),
            local_dirs={{"context": {context!r}}},
            outputs=[parse_output({output!r})],
            shared_key="flense-test-interrupted-export",
        )
    """
)


def interrupt_during_export(context: Path, output: str, watched: Path) -> str:
    """Run a build in a child process and press Ctrl-C once export data lands.

    Export data has landed when any regular file below ``watched`` that was
    not there before has content. Returns the child's stderr.
    """
    before = {path for path in watched.rglob("*") if path.is_file()}
    script = INTERRUPT_EXPORT_SCRIPT.format(
        test_dir=str(Path(__file__).parent), context=str(context), output=output
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        landed = False
        while not landed and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            for path in watched.rglob("*"):
                if path in before or path.is_symlink() or not path.is_file():
                    continue
                try:
                    landed = path.stat().st_size > 0
                except FileNotFoundError:
                    continue
                if landed:
                    break
        assert landed, "the export never started writing"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0, "the build finished before the interrupt"
    return stderr


@pytest.fixture(scope="module")
def big_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    context = tmp_path_factory.mktemp("big-context")
    with open(context / "big.bin", "wb") as file:
        file.truncate(BIG_FILE_BYTES)
    return context


def test_interrupted_tar_export_leaves_nothing(
    big_context: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "image.tar"

    stderr = interrupt_during_export(big_context, f"type=tar,dest={archive}", tmp_path)

    assert "KeyboardInterrupt" in stderr
    assert os.listdir(tmp_path) == []


def test_interrupted_local_export_leaves_nothing(
    big_context: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    stderr = interrupt_during_export(big_context, f"type=local,dest={out}", tmp_path)

    assert "KeyboardInterrupt" in stderr
    assert os.listdir(tmp_path) == []


def test_interrupted_local_export_keeps_existing(
    big_context: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old\n")

    stderr = interrupt_during_export(big_context, f"type=local,dest={out}", tmp_path)

    assert "KeyboardInterrupt" in stderr
    assert os.listdir(out) == ["old.txt"]
    assert (out / "old.txt").read_text() == "old\n"


# --- log lines ----------------------------------------------------------------


def two_component_definition() -> ops_pb2.Definition:
    """Two transfers of "context", one per component directory, merged."""
    graph = Graph()
    copies = [
        copy_onto_scratch(graph, local_source(graph, include=[directory]))
        for directory in ("extensions/Cite", "skins/Vector")
    ]
    merge = ops_pb2.Op(
        inputs=[ops_pb2.Input(digest=digest, index=0) for digest in copies],
        merge=ops_pb2.MergeOp(
            inputs=[ops_pb2.MergeInput(input=index) for index in range(len(copies))]
        ),
    )
    return graph.definition(graph.add(merge, "[test] merge", mergeop=True))


def make_components(context: Path) -> None:
    for directory in ("extensions/Cite", "skins/Vector"):
        (context / directory).mkdir(parents=True)
        (context / directory / "main.php").write_text(f"<?php // {directory}\n")


def test_transfer_logs_name_component(
    client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    context = tmp_path / "context"
    make_components(context)
    caplog.set_level(logging.INFO, logger=SENDER_LOGGER)

    result = client.solve(
        two_component_definition(),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=local,dest={tmp_path / 'out'}")],
    )

    messages = [r.getMessage() for r in caplog.records if r.name == SENDER_LOGGER]
    for directory in ("extensions/Cite", "skins/Vector"):
        label = f"local directory 'context' (include {directory})"
        assert sum(m.startswith(f"sending {label} from ") for m in messages) == 1
        assert sum(m.startswith(f"sent {label}: ") for m in messages) == 1
    includes = sorted(transfer.include_patterns for transfer in result.transfers)
    assert includes == [("extensions/Cite",), ("skins/Vector",)]


def test_build_logs_each_fact_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    context = tmp_path / "context"
    make_components(context)
    state = llb.local("context", include=["extensions/Cite"])
    caplog.set_level(logging.INFO)

    run_build(
        BuildRequest(
            definition=llb.marshal(state),
            context=context,
            outputs=(f"type=local,dest={tmp_path / 'out'}",),
            progress="quiet",
        )
    )

    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum(m.startswith("connected to dockerd") for m in info) == 1
    assert not any(m.startswith("building with") for m in info)
    assert sum(m.startswith("sent local directory 'context'") for m in info) == 1
    assert not any(m.startswith("sent context:") for m in info)


# --- transfers the daemon cancels ---------------------------------------------


def failing_exec_beside_transfer() -> ops_pb2.Definition:
    """A merge of a local transfer and an exec that fails at once."""
    graph = Graph()
    copied = copy_onto_scratch(graph, local_source(graph))
    image = ops_pb2.Op(
        source=ops_pb2.SourceOp(identifier=f"docker-image://docker.io/{BUSYBOX}"),
        platform=PLATFORM,
    )
    image_digest = graph.add(image, "[test] busybox", source_image=True)
    run = ops_pb2.Op(inputs=[ops_pb2.Input(digest=image_digest)], platform=PLATFORM)
    run.exec.meta.args.extend(["/bin/sh", "-c", f"echo {uuid.uuid4()}; exit 7"])
    run.exec.meta.env.append("PATH=/bin:/usr/bin")
    run.exec.meta.cwd = "/"
    # The step needs no network, and NONE keeps it independent of the
    # engine's bridge network.
    run.exec.network = ops_pb2.NetMode.NONE
    run.exec.mounts.add(input=0, dest="/", output=0)
    failing = graph.add(run, "[test] fail at once", exec_meta_base=True)
    merge = ops_pb2.Op(
        inputs=[
            ops_pb2.Input(digest=copied, index=0),
            ops_pb2.Input(digest=failing, index=0),
        ],
        merge=ops_pb2.MergeOp(inputs=[ops_pb2.MergeInput(input=i) for i in (0, 1)]),
    )
    return graph.definition(graph.add(merge, "[test] merge", mergeop=True))


def test_cancelled_transfer_logged_before_error(
    client: Client,
    busybox_image: str,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "slow.bin").write_bytes(os.urandom(1024))
    original = sender_module._Transfer._send_file

    def slow_send_file(self: object, file_id: int, path: str) -> None:
        time.sleep(10)  # a slow disk, so the exec fails first
        original(self, file_id, path)  # type: ignore[arg-type]

    monkeypatch.setattr(sender_module._Transfer, "_send_file", slow_send_file)
    caplog.set_level(logging.INFO, logger=SENDER_LOGGER)

    with pytest.raises(EngineError, match="exit code: 7"):
        client.solve(
            failing_exec_beside_transfer(),
            local_dirs={"context": context},
            shared_key=str(uuid.uuid4()),
        )
    logged_before_error = list(caplog.records)
    time.sleep(1)

    sender_records = [r for r in caplog.records if r.name == SENDER_LOGGER]
    stopped = [r for r in sender_records if " stopped after " in r.getMessage()]
    assert len(stopped) == 1
    assert stopped[0].levelno == logging.INFO
    assert not [r for r in sender_records if r.levelno >= logging.WARNING]
    assert caplog.records == logged_before_error


# --- file names that are not UTF-8 --------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown", "pattern"),
    [
        (b"bad\xffname.txt", "c/bad\\xffname.txt", "**/bad?name.txt"),
        (b"two\xc3\x28bytes[1]", "c/two\\xc3(bytes[1]", "**/two?(bytes\\[1\\]"),
    ],
)
def test_non_utf8_name_error(
    client: Client, tmp_path: Path, name: bytes, shown: str, pattern: str
) -> None:
    context = tmp_path / "context"
    (context / "c").mkdir(parents=True)
    with open(os.path.join(os.fsencode(context / "c"), name), "wb") as file:
        file.write(b"data\n")

    with pytest.raises(EngineError) as raised:
        client.solve(
            context_definition(),
            local_dirs={"context": context},
            outputs=[parse_output(f"type=local,dest={tmp_path / 'out'}")],
        )

    message = str(raised.value)
    assert f"the file name '{shown}' is not valid UTF-8" in message
    assert "b'" not in message
    assert "rename the file" in message
    assert f"'{pattern}'" in message


def test_non_utf8_hint_pattern_excludes(client: Client, tmp_path: Path) -> None:
    """The pattern that the error suggests does exclude the file."""
    context = tmp_path / "context"
    (context / "c").mkdir(parents=True)
    (context / "c/good.txt").write_text("good\n")
    with open(os.path.join(os.fsencode(context / "c"), b"bad\xffname.txt"), "wb"):
        pass
    out = tmp_path / "out"

    client.solve(
        context_definition(exclude=["**/bad?name.txt"]),
        local_dirs={"context": context},
        outputs=[parse_output(f"type=local,dest={out}")],
    )

    assert os.listdir(out / "c") == ["good.txt"]
