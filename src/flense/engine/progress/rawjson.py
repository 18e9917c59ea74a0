"""The ``rawjson`` mode: each StatusResponse as one JSON object per line."""

from __future__ import annotations

import base64
import json
from typing import Any, TextIO

from flense.engine.progress.display import _Display
from flense.engine.progress.state import ProgressStats, _VertexNews
from flense.engine.proto import control_pb2


class _RawJsonDisplay(_Display):
    """Printer of each StatusResponse as one JSON object, in buildctl's shape."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def update(
        self,
        response: control_pb2.StatusResponse,
        news: dict[str, _VertexNews],
        now: float,
    ) -> None:
        self._stream.write(json.dumps(status_to_json(response)) + "\n")
        self._stream.flush()

    def finish(
        self, stats: ProgressStats, result: str | None, error: BaseException | None
    ) -> None:
        summary: dict[str, Any] = {
            "vertices": stats.vertices,
            "run": stats.run,
            "cached": stats.cached,
            "errored": stats.errored,
            "canceled": stats.canceled,
            "bytesTransferred": stats.bytes_transferred,
            "durationSeconds": round(stats.duration_seconds, 3),
            "result": result,
            "error": None if error is None else str(error) or type(error).__name__,
        }
        self._stream.write(json.dumps({"summary": summary}) + "\n")
        self._stream.flush()


def status_to_json(response: control_pb2.StatusResponse) -> dict[str, Any]:
    """Convert a StatusResponse to the JSON shape of buildctl's ``rawjson``.

    Field names follow BuildKit's ``client.SolveStatus`` JSON tags. Bytes are
    base64, and times are RFC 3339 strings in UTC.
    """
    # NOTE: the source information and ranges of warnings are left out.
    document: dict[str, Any] = {}
    if response.vertexes:
        document["vertexes"] = [_vertex_json(v) for v in response.vertexes]
    if response.statuses:
        document["statuses"] = [_status_json(s) for s in response.statuses]
    if response.logs:
        document["logs"] = [_log_json(log) for log in response.logs]
    if response.warnings:
        document["warnings"] = [_warning_json(w) for w in response.warnings]
    return document


def _vertex_json(vertex: control_pb2.Vertex) -> dict[str, Any]:
    item: dict[str, Any] = {"digest": vertex.digest}
    if vertex.inputs:
        item["inputs"] = list(vertex.inputs)
    if vertex.name:
        item["name"] = vertex.name
    for name in ("started", "completed"):
        if vertex.HasField(name):
            item[name] = getattr(vertex, name).ToJsonString()
    if vertex.cached:
        item["cached"] = True
    if vertex.error:
        item["error"] = vertex.error
    return item


def _status_json(status: control_pb2.VertexStatus) -> dict[str, Any]:
    item: dict[str, Any] = {"id": status.ID, "vertex": status.vertex}
    if status.name:
        item["name"] = status.name
    if status.total:
        item["total"] = status.total
    item["current"] = status.current
    item["timestamp"] = status.timestamp.ToJsonString()
    for name in ("started", "completed"):
        if status.HasField(name):
            item[name] = getattr(status, name).ToJsonString()
    return item


def _log_json(log: control_pb2.VertexLog) -> dict[str, Any]:
    return {
        "vertex": log.vertex,
        "stream": log.stream,
        "data": base64.b64encode(log.msg).decode("ascii"),
        "timestamp": log.timestamp.ToJsonString(),
    }


def _warning_json(warning: control_pb2.VertexWarning) -> dict[str, Any]:
    item: dict[str, Any] = {"vertex": warning.vertex}
    if warning.level:
        item["level"] = warning.level
    if warning.short:
        item["short"] = base64.b64encode(warning.short).decode("ascii")
    if warning.detail:
        item["detail"] = [base64.b64encode(d).decode("ascii") for d in warning.detail]
    if warning.url:
        item["url"] = warning.url
    return item
