"""Tests of the progress display, fed with StatusResponse messages built here."""

from __future__ import annotations

import base64
import io
import json
import threading

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.text import Text

from flense.engine.progress import (
    Progress,
    ProgressMode,
    VertexRecord,
    format_bytes,
)
from flense.engine.proto import control_pb2
from flense.errors import UsageError

# Daemon timestamps are T0 plus seconds, and FakeClock starts at T0, so the
# elapsed times in the output are exact.
T0 = 1_700_000_000

CONTEXT = "sha256:context"
CITE = "sha256:cite"
POPUPS = "sha256:popups"
BASE = "sha256:base"
MERGE = "sha256:merge"


class FakeClock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


def timestamp(seconds: float) -> Timestamp:
    whole = int(seconds)
    return Timestamp(seconds=T0 + whole, nanos=round((seconds - whole) * 1e9))


def vertex(
    digest: str,
    name: str,
    started: float | None = None,
    completed: float | None = None,
    cached: bool = False,
    error: str = "",
) -> control_pb2.Vertex:
    message = control_pb2.Vertex(digest=digest, name=name, cached=cached, error=error)
    if started is not None:
        message.started.CopyFrom(timestamp(started))
    if completed is not None:
        message.completed.CopyFrom(timestamp(completed))
    return message


def status(
    digest: str,
    status_id: str,
    current: int,
    total: int = 0,
    at: float = 0.0,
    started: float | None = 0.0,
    completed: float | None = None,
) -> control_pb2.VertexStatus:
    message = control_pb2.VertexStatus(
        ID=status_id, vertex=digest, current=current, total=total
    )
    message.timestamp.CopyFrom(timestamp(at))
    if started is not None:
        message.started.CopyFrom(timestamp(started))
    if completed is not None:
        message.completed.CopyFrom(timestamp(completed))
    return message


def log(digest: str, at: float, data: bytes, stream: int = 1) -> control_pb2.VertexLog:
    message = control_pb2.VertexLog(vertex=digest, stream=stream, msg=data)
    message.timestamp.CopyFrom(timestamp(at))
    return message


def response(**fields: object) -> control_pb2.StatusResponse:
    return control_pb2.StatusResponse(**fields)  # type: ignore[arg-type]


def plain_progress(title: str = "") -> tuple[Progress, io.StringIO, FakeClock]:
    stream = io.StringIO()
    clock = FakeClock()
    progress = Progress("plain", stream, title=title, clock=clock)
    return progress, stream, clock


def tty_progress() -> tuple[Progress, io.StringIO, FakeClock]:
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=100, height=40)
    clock = FakeClock()
    progress = Progress("tty", console=console, clock=clock, title="wiki.yaml")
    return progress, output, clock


def plain_text(renderable: object, width: int = 100) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, width=width)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return Text.from_ansi(output).plain


def play_small_build(progress: Progress, clock: FakeClock) -> None:
    """Feed a build: context transfer, a cached base, a copy step with logs."""
    updates = [
        (0.0, response(vertexes=[vertex(CONTEXT, "[internal] load local context")])),
        (
            0.0,
            response(vertexes=[vertex(CONTEXT, "[internal] load local context", 0.0)]),
        ),
        (
            0.5,
            response(
                statuses=[status(CONTEXT, "transferring context:", 1_500_000, at=0.5)]
            ),
        ),
        (
            1.0,
            response(
                statuses=[status(CONTEXT, "transferring context:", 2_000_000, at=1.0)]
            ),
        ),
        (
            1.2,
            response(
                statuses=[
                    status(
                        CONTEXT,
                        "transferring context:",
                        2_345_678,
                        at=1.2,
                        completed=1.2,
                    )
                ],
                vertexes=[vertex(CONTEXT, "[internal] load local context", 0.0, 1.2)],
            ),
        ),
        (
            1.3,
            response(
                vertexes=[
                    vertex(BASE, "[base] docker-image://php:8.1", 1.3, 1.3, cached=True)
                ]
            ),
        ),
        (1.4, response(vertexes=[vertex(CITE, "[extensions/Cite] copy", 1.4)])),
        (1.9, response(logs=[log(CITE, 1.9, b"copied 12 files\n")])),
        (2.0, response(vertexes=[vertex(CITE, "[extensions/Cite] copy", 1.4, 2.0)])),
    ]
    for moment, update in updates:
        clock.now = T0 + moment
        progress.update(update)


def test_mode_parse_values() -> None:
    cases: dict[ProgressMode | str, ProgressMode] = {
        "auto": ProgressMode.AUTO,
        "tty": ProgressMode.TTY,
        "plain": ProgressMode.PLAIN,
        "quiet": ProgressMode.QUIET,
        "rawjson": ProgressMode.RAWJSON,
        "PLAIN": ProgressMode.PLAIN,
        ProgressMode.TTY: ProgressMode.TTY,
    }
    for value, expected in cases.items():
        assert ProgressMode.parse(value) is expected, value


def test_mode_parse_invalid() -> None:
    with pytest.raises(UsageError, match="invalid progress mode 'fancy'"):
        ProgressMode.parse("fancy")


def test_mode_auto_without_terminal() -> None:
    progress = Progress("auto", io.StringIO())
    assert progress.mode is ProgressMode.PLAIN


def test_mode_auto_with_terminal() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    progress = Progress("auto", console=console)
    assert progress.mode is ProgressMode.TTY


def test_mode_tty_without_terminal() -> None:
    with pytest.raises(UsageError, match="--progress=plain"):
        Progress("tty", io.StringIO())


def test_format_bytes() -> None:
    cases: dict[int, str] = {
        0: "0B",
        999: "999B",
        1000: "1.00kB",
        1234: "1.23kB",
        12_345_678: "12.35MB",
        999_999_999: "1000.00MB",
        3_000_000_000: "3.00GB",
    }
    for count, expected in cases.items():
        assert format_bytes(count) == expected, count


def test_plain_small_build() -> None:
    progress, stream, clock = plain_progress(title="flense build wiki.yaml")
    play_small_build(progress, clock)
    clock.now = T0 + 3.0
    progress.finish(result="docker.io/library/wiki:latest")
    assert stream.getvalue() == (
        "#0 flense build wiki.yaml\n"
        "\n"
        "#1 [internal] load local context\n"
        "#1 transferring context: 1.50MB 0.5s\n"
        "#1 transferring context: 2.35MB 1.2s done\n"
        "#1 DONE 1.2s\n"
        "\n"
        "#2 [base] docker-image://php:8.1\n"
        "#2 CACHED\n"
        "\n"
        "#3 [extensions/Cite] copy\n"
        "#3 0.500 copied 12 files\n"
        "#3 DONE 0.6s\n"
        "\n"
        "Build finished in 3.0s: 2 steps run, 1 cached, 2.35MB transferred."
        " Result: docker.io/library/wiki:latest\n"
    )


def test_plain_status_throttled_by_time() -> None:
    progress, stream, clock = plain_progress()
    progress.update(response(vertexes=[vertex(CONTEXT, "[internal] context", 0.0)]))
    files = 57_000
    for i in range(files):
        at = i * 12 / files
        clock.now = T0 + at
        item = status(CONTEXT, "transferring context:", (i + 1) * 1000, at=at)
        progress.update(response(statuses=[item]))
    clock.now = T0 + 12.5
    done = status(CONTEXT, "transferring context:", files * 1000, at=12, completed=12)
    progress.update(response(statuses=[done]))
    lines = stream.getvalue().splitlines()
    status_lines = [line for line in lines if "transferring" in line]
    # One line when printing starts, one each 5 s, and the last value.
    assert len(status_lines) == 4
    assert status_lines[1].endswith(" 5.1s")
    assert status_lines[-1] == "#1 transferring context: 57.00MB 12.0s done"


def test_plain_status_throttled_by_fraction() -> None:
    progress, stream, clock = plain_progress()
    progress.update(response(vertexes=[vertex(BASE, "[base] pull", 0.0)]))
    total = 1_000_000
    for i in range(1, 101):
        clock.now = T0 + i / 5
        completed = 20.0 if i == 100 else None
        item = status(
            BASE, "sha256:layer", i * 10_000, total, at=i / 5, completed=completed
        )
        progress.update(response(statuses=[item]))
    status_lines = [line for line in stream.getvalue().splitlines() if "sha256" in line]
    assert len(status_lines) == 21
    assert status_lines[1] == "#1 sha256:layer 60.00kB / 1.00MB 1.2s"
    assert status_lines[-1] == "#1 sha256:layer 1.00MB / 1.00MB 20.0s done"


def test_plain_status_without_start_hidden() -> None:
    progress, stream, _ = plain_progress()
    progress.update(response(vertexes=[vertex(BASE, "[base] pull", 0.0)]))
    progress.update(response(statuses=[status(BASE, "resolve", 0, started=None)]))
    assert "resolve" not in stream.getvalue()


def test_plain_log_lines() -> None:
    progress, stream, clock = plain_progress()
    progress.update(response(vertexes=[vertex(CITE, "[extensions/Cite] copy", 0.0)]))
    progress.update(response(logs=[log(CITE, 1.234, b"hel")]))
    progress.update(response(logs=[log(CITE, 1.5, b"lo\r\nwor")]))
    progress.update(response(logs=[log(CITE, 12.3456, b"ld\nx\n", stream=2)]))
    progress.update(response(logs=[log(CITE, 123.46, b"no newline")]))
    clock.now = T0 + 124
    progress.update(
        response(vertexes=[vertex(CITE, "[extensions/Cite] copy", 0.0, 124)])
    )
    assert stream.getvalue().splitlines() == [
        "#1 [extensions/Cite] copy",
        "#1 1.234 hello",
        "#1 1.500 world",
        "#1 12.35 x",
        "#1 123.5 no newline",
        "#1 DONE 124.0s",
    ]


def test_plain_log_invalid_utf8() -> None:
    progress, stream, clock = plain_progress()
    progress.update(response(vertexes=[vertex(CITE, "[extensions/Cite] copy", 0.0)]))
    progress.update(response(logs=[log(CITE, 0.5, b"caf\xc3")]))
    clock.now = T0 + 1
    progress.update(response(logs=[log(CITE, 0.6, b"\xa9 \xff\n")]))
    assert stream.getvalue().splitlines()[-1] == "#1 0.500 caf\u00e9 \ufffd"


def test_plain_parallel_steps_take_turns() -> None:
    progress, stream, clock = plain_progress()
    a, b = "sha256:a", "sha256:b"
    progress.update(
        response(vertexes=[vertex(a, "[a] step", 0.0), vertex(b, "[b] step", 0.0)])
    )

    # The output of b waits while a has the display.
    clock.now = T0 + 1
    progress.update(response(logs=[log(b, 1.0, b"b1\n")]))
    clock.now = T0 + 2
    progress.update(response(logs=[log(a, 2.0, b"a1\n")]))
    held = stream.getvalue()

    # After 5 s, b takes the display.
    clock.now = T0 + 6
    progress.update(response(logs=[log(a, 6.0, b"a2\n")]))
    clock.now = T0 + 7
    progress.update(response(vertexes=[vertex(a, "[a] step", 0.0, 7.0)]))
    clock.now = T0 + 8
    progress.update(response(vertexes=[vertex(b, "[b] step", 0.0, 8.0)]))

    assert "b1" not in held
    assert stream.getvalue().splitlines() == [
        "#1 [a] step",
        "#1 2.000 a1",
        "#1 6.000 a2",
        "#1 ...",
        "",
        "#2 [b] step",
        "#2 1.000 b1",
        "#2 ...",
        "",
        "#1 [a] step",
        "#1 DONE 7.0s",
        "",
        "#2 [b] step",
        "#2 DONE 8.0s",
    ]


def test_plain_updates_merged_within_interval() -> None:
    progress, stream, clock = plain_progress()
    name = "[internal] load build definition"
    progress.update(response(vertexes=[vertex(CONTEXT, name, 0.0, 0.01)]))
    clock.now = T0 + 0.05
    progress.update(response(vertexes=[vertex(CONTEXT, name, 0.02)]))
    item = status(CONTEXT, "transferring dockerfile:", 0, at=0.03, started=0.03)
    progress.update(response(statuses=[item]))
    item = status(CONTEXT, "transferring dockerfile:", 188, at=0.04, started=0.03)
    item.completed.CopyFrom(item.timestamp)
    progress.update(response(statuses=[item]))
    progress.update(response(vertexes=[vertex(CONTEXT, name, 0.02, 0.12)]))
    clock.now = T0 + 0.2
    progress.update(response())
    # The first run (BuildKit's cache check) and the transfer print as one.
    assert stream.getvalue().splitlines() == [
        "#1 [internal] load build definition",
        "#1 transferring dockerfile: 188B done",
        "#1 DONE 0.1s",
    ]


def test_plain_finish_prints_pending_output() -> None:
    progress, stream, clock = plain_progress()
    a, b = "sha256:a", "sha256:b"
    progress.update(
        response(vertexes=[vertex(a, "[a] step", 0.0), vertex(b, "[b] step", 0.0)])
    )
    progress.update(response(logs=[log(b, 0.5, b"b1\n")]))
    clock.now = T0 + 1
    progress.finish()
    assert "#2 0.500 b1" in stream.getvalue()


def play_failed_build(progress: Progress, clock: FakeClock) -> None:
    name = "[extensions/Popups] npm install"
    progress.update(response(vertexes=[vertex(POPUPS, name, 0.0)]))
    for i in range(1, 13):
        progress.update(response(logs=[log(POPUPS, i / 10, f"line {i}\n".encode())]))
    error = (
        'process "/bin/sh -c npm install" did not complete successfully: exit code: 1'
    )
    clock.now = T0 + 1.5
    progress.update(response(vertexes=[vertex(POPUPS, name, 0.0, 1.5, error=error)]))
    canceled = vertex(MERGE, "[flense] merge", 1.5, 1.6, error="context canceled")
    progress.update(response(vertexes=[canceled]))
    clock.now = T0 + 2


FAILED_REPORT = [
    "------",
    " > [extensions/Popups] npm install:",
    *[f"{i / 10:.3f} line {i}" for i in range(3, 13)],
    "------",
    'ERROR: [extensions/Popups] npm install: process "/bin/sh -c npm install" did'
    " not complete successfully: exit code: 1",
]


def test_plain_failed_build() -> None:
    progress, stream, clock = plain_progress()
    play_failed_build(progress, clock)
    progress.finish(error=RuntimeError("solve failed"))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "#1 [extensions/Popups] npm install"
    assert lines[1:13] == [f"#1 {i / 10:.3f} line {i}" for i in range(1, 13)]
    assert lines[13] == (
        '#1 ERROR: process "/bin/sh -c npm install" did not complete successfully:'
        " exit code: 1"
    )
    assert lines[14:18] == ["", "#2 [flense] merge", "#2 CANCELED", ""]
    assert lines[18:-1] == FAILED_REPORT
    assert lines[-1] == (
        "Build failed after 2.0s: 0 steps run, 0 cached, 1 failed, 0B transferred."
    )


def test_plain_warning() -> None:
    progress, stream, clock = plain_progress()
    progress.update(response(vertexes=[vertex(CITE, "[extensions/Cite] copy", 0.0)]))
    clock.now = T0 + 1
    warning = control_pb2.VertexWarning(vertex=CITE, level=1, short=b"empty source")
    progress.update(response(warnings=[warning]))
    assert stream.getvalue().splitlines()[-1] == "#1 WARN: empty source"


def test_plain_canceled_summary() -> None:
    progress, stream, _ = plain_progress()
    progress.finish(error=KeyboardInterrupt())
    assert stream.getvalue().startswith("Build canceled after 0.0s")


@pytest.mark.parametrize(
    ("steps", "counts"),
    [
        (0, "0 steps run, 0 cached"),
        (1, "1 step run, 0 cached"),
        (2, "2 steps run, 0 cached"),
    ],
)
def test_summary_step_count_plural(steps: int, counts: str) -> None:
    progress, stream, clock = plain_progress()
    vertexes = [vertex(f"sha256:{n}", f"[c{n}] run", 0.0, 1.0) for n in range(steps)]
    progress.update(response(vertexes=vertexes))
    clock.now = T0 + 1
    progress.finish()
    summary = stream.getvalue().splitlines()[-1]
    assert summary == f"Build finished in 1.0s: {counts}, 0B transferred."


def test_stats_bytes_transferred() -> None:
    progress, _, _ = plain_progress()
    progress.update(response(vertexes=[vertex(CONTEXT, "[internal] context", 0.0)]))
    progress.update(response(vertexes=[vertex(BASE, "[base] pull", 0.0)]))
    statuses = [
        status(CONTEXT, "transferring context:", 400),
        status(CONTEXT, "transferring context:", 1000),
        status(CONTEXT, "transferring dockerfile:", 50),
        status(BASE, "sha256:abc", 3_000_000, 3_000_000),
        status(BASE, "extracting sha256:abc", 0),
        status(BASE, "exporting layers", 700),
    ]
    progress.update(response(statuses=statuses))
    assert progress.stats.bytes_transferred == 3_001_050


def test_stats_counts() -> None:
    progress, _, clock = plain_progress()
    play_small_build(progress, clock)
    play_failed_build(progress, clock)
    progress.finish()
    stats = progress.stats
    assert stats.vertices == 5
    assert stats.cached == 1
    assert stats.completed == 3
    assert stats.run == 2
    assert stats.errored == 1
    assert stats.canceled == 1
    assert stats.duration_seconds == pytest.approx(2.0)


def test_vertices_records() -> None:
    progress, _, clock = plain_progress()
    play_small_build(progress, clock)
    records = progress.vertices()
    assert [r.name for r in records] == [
        "[internal] load local context",
        "[base] docker-image://php:8.1",
        "[extensions/Cite] copy",
    ]
    assert [r.cached for r in records] == [False, True, False]
    cite = records[2]
    assert isinstance(cite, VertexRecord)
    assert cite.started == pytest.approx(T0 + 1.4)
    assert cite.completed == pytest.approx(T0 + 2.0)
    assert cite.duration_seconds == pytest.approx(0.6)
    assert cite.error == ""


def test_vertices_running_has_no_completion() -> None:
    progress, _, _ = plain_progress()
    progress.update(response(vertexes=[vertex(CITE, "[extensions/Cite] copy", 0.0)]))
    record = progress.vertices()[0]
    assert record.completed is None
    assert record.duration_seconds is None


def test_finish_idempotent() -> None:
    progress, stream, clock = plain_progress()
    play_small_build(progress, clock)
    progress.finish(result="first")
    output = stream.getvalue()
    progress.finish(result="second")
    progress.update(response(vertexes=[vertex(POPUPS, "[late] step", 5.0)]))
    assert stream.getvalue() == output
    assert len(progress.vertices()) == 3


def test_context_manager_reports_exception() -> None:
    stream = io.StringIO()
    with pytest.raises(RuntimeError), Progress("plain", stream, clock=FakeClock()):
        raise RuntimeError("connection lost")
    assert stream.getvalue().startswith("Build failed after")


def test_quiet_prints_only_errors() -> None:
    stream = io.StringIO()
    clock = FakeClock()
    progress = Progress("quiet", stream, clock=clock)
    play_small_build(progress, clock)
    play_failed_build(progress, clock)
    progress.finish()
    assert stream.getvalue().splitlines() == FAILED_REPORT


def test_quiet_success_silent() -> None:
    stream = io.StringIO()
    clock = FakeClock()
    progress = Progress("quiet", stream, clock=clock)
    play_small_build(progress, clock)
    progress.finish(result="wiki:latest")
    assert stream.getvalue() == ""


def test_rawjson_lines() -> None:
    stream = io.StringIO()
    clock = FakeClock()
    progress = Progress("rawjson", stream, clock=clock)
    play_small_build(progress, clock)
    progress.finish(result="wiki:latest")
    documents = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(documents) == 10
    assert documents[1]["vertexes"][0] == {
        "digest": CONTEXT,
        "name": "[internal] load local context",
        "started": "2023-11-14T22:13:20Z",
    }
    status_item = documents[2]["statuses"][0]
    assert status_item["id"] == "transferring context:"
    assert status_item["current"] == 1_500_000
    log_item = documents[7]["logs"][0]
    assert base64.b64decode(log_item["data"]) == b"copied 12 files\n"
    assert documents[-1]["summary"]["cached"] == 1
    assert documents[-1]["summary"]["result"] == "wiki:latest"


def test_tty_view_running_step() -> None:
    progress, _, clock = tty_progress()
    play_small_build(progress, clock)
    progress.update(
        response(vertexes=[vertex(POPUPS, "[extensions/Popups] npm install", 2.0)])
    )
    progress.update(response(vertexes=[vertex("sha256:x", "[extensions/X] copy", 2.0)]))
    item = status("sha256:x", "transferring x:", 4_500_000, at=2.5, started=2.0)
    progress.update(response(statuses=[item]))
    for i in range(8):
        progress.update(
            response(logs=[log(POPUPS, 2 + i / 10, f"added {i}\n".encode())])
        )
    clock.now = T0 + 3.5
    text = plain_text(progress.view())
    lines = text.splitlines()
    assert lines[0].startswith("[+] Building 3.5s (3/5)")
    assert " => [extensions/Popups] npm install" in text
    popups_line = next(line for line in lines if "Popups" in line)
    assert popups_line.endswith("1.5s")
    assert " => => transferring x:" in text
    assert "4.50MB" in text
    assert " => => # added 0" not in text
    assert " => => # added 1" not in text
    assert " => => # added 7" in text
    assert sum(1 for line in lines if "=> => #" in line) == 6
    progress.finish()


def test_tty_view_collapses_finished() -> None:
    progress, _, clock = tty_progress()
    play_small_build(progress, clock)
    progress.update(response(vertexes=[vertex(MERGE, "[flense] merge", 2.1, 2.2)]))
    text = plain_text(progress.view())
    assert " => 1 step finished, 0 cached" in text
    assert "load local context" not in text
    assert " => CACHED [base] docker-image://php:8.1" in text
    assert " => [flense] merge" in text
    progress.finish()


def test_tty_view_failed_step() -> None:
    progress, _, clock = tty_progress()
    play_failed_build(progress, clock)
    text = plain_text(progress.view())
    assert " => ERROR [extensions/Popups] npm install" in text
    assert '    process "/bin/sh -c npm install" did not complete' in text
    progress.finish()


def test_tty_view_fits_height() -> None:
    progress, _, clock = tty_progress()
    play_small_build(progress, clock)
    progress.update(
        response(vertexes=[vertex(POPUPS, "[extensions/Popups] npm install", 2.0)])
    )
    for i in range(8):
        progress.update(
            response(logs=[log(POPUPS, 2 + i / 10, f"added {i}\n".encode())])
        )
    renderable = progress.view(width=100, height=6)
    lines = plain_text(renderable).splitlines()
    assert len(lines) <= 5
    assert any("Popups" in line for line in lines)
    progress.finish()


def test_tty_finish_success() -> None:
    progress, output, clock = tty_progress()
    play_small_build(progress, clock)
    clock.now = T0 + 3
    progress.finish(result="docker.io/library/wiki:latest")
    text = Text.from_ansi(output.getvalue()).plain
    assert "[+] Building 3.0s (3/3) FINISHED" in text
    assert " => [extensions/Cite] copy" in text
    assert "2.35MB" in text
    assert " => CACHED 1 step" in text
    assert text.rstrip().endswith(
        "Build finished in 3.0s: 2 steps run, 1 cached, 2.35MB transferred."
        " Result: docker.io/library/wiki:latest"
    )


def test_tty_finish_failed() -> None:
    progress, output, clock = tty_progress()
    play_failed_build(progress, clock)
    progress.finish(error=RuntimeError("solve failed"))
    text = Text.from_ansi(output.getvalue()).plain
    assert "FAILED" in text
    assert " => ERROR [extensions/Popups] npm install" in text
    assert " => CANCELED [flense] merge" in text
    assert "\n".join(FAILED_REPORT) in text
    assert "Build failed after 2.0s" in text


def test_tty_live_updates_from_thread() -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=100, height=20)
    progress = Progress("tty", console=console)

    def feed() -> None:
        now = progress._clock() - T0  # type: ignore[attr-defined]
        progress.update(
            response(vertexes=[vertex(CITE, "[extensions/Cite] copy", now)])
        )
        for i in range(300):
            progress.update(response(logs=[log(CITE, now, f"line {i}\n".encode())]))

    with progress:
        worker = threading.Thread(target=feed)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
    text = Text.from_ansi(output.getvalue()).plain
    assert "Build finished" in text


def test_plain_updates_from_threads() -> None:
    stream = io.StringIO()
    progress = Progress("plain", stream)
    digests = [f"sha256:{n}" for n in range(4)]
    progress.update(
        response(vertexes=[vertex(d, f"[c{d[-1]}] run", 0.0) for d in digests])
    )

    def feed(digest: str) -> None:
        for i in range(500):
            progress.update(response(logs=[log(digest, 0.1, f"line {i}\n".encode())]))

    with progress:
        workers = [threading.Thread(target=feed, args=(d,)) for d in digests]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    lines = stream.getvalue().splitlines()
    assert sum(1 for line in lines if " line " in line) == 2000
