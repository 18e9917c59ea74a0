import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from flense.llb.proto import ops_pb2 as _ops_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SolveRequest(_message.Message):
    __slots__ = ("Ref", "Definition", "ExporterDeprecated", "ExporterAttrsDeprecated", "Session", "Frontend", "FrontendAttrs", "Cache", "Entitlements", "FrontendInputs", "Internal", "Exporters")
    class ExporterAttrsDeprecatedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class FrontendAttrsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class FrontendInputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _ops_pb2.Definition
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_ops_pb2.Definition, _Mapping]] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    EXPORTERDEPRECATED_FIELD_NUMBER: _ClassVar[int]
    EXPORTERATTRSDEPRECATED_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    FRONTEND_FIELD_NUMBER: _ClassVar[int]
    FRONTENDATTRS_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    ENTITLEMENTS_FIELD_NUMBER: _ClassVar[int]
    FRONTENDINPUTS_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_FIELD_NUMBER: _ClassVar[int]
    EXPORTERS_FIELD_NUMBER: _ClassVar[int]
    Ref: str
    Definition: _ops_pb2.Definition
    ExporterDeprecated: str
    ExporterAttrsDeprecated: _containers.ScalarMap[str, str]
    Session: str
    Frontend: str
    FrontendAttrs: _containers.ScalarMap[str, str]
    Cache: CacheOptions
    Entitlements: _containers.RepeatedScalarFieldContainer[str]
    FrontendInputs: _containers.MessageMap[str, _ops_pb2.Definition]
    Internal: bool
    Exporters: _containers.RepeatedCompositeFieldContainer[Exporter]
    def __init__(self, Ref: _Optional[str] = ..., Definition: _Optional[_Union[_ops_pb2.Definition, _Mapping]] = ..., ExporterDeprecated: _Optional[str] = ..., ExporterAttrsDeprecated: _Optional[_Mapping[str, str]] = ..., Session: _Optional[str] = ..., Frontend: _Optional[str] = ..., FrontendAttrs: _Optional[_Mapping[str, str]] = ..., Cache: _Optional[_Union[CacheOptions, _Mapping]] = ..., Entitlements: _Optional[_Iterable[str]] = ..., FrontendInputs: _Optional[_Mapping[str, _ops_pb2.Definition]] = ..., Internal: _Optional[bool] = ..., Exporters: _Optional[_Iterable[_Union[Exporter, _Mapping]]] = ...) -> None: ...

class Exporter(_message.Message):
    __slots__ = ("Type", "Attrs")
    class AttrsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTRS_FIELD_NUMBER: _ClassVar[int]
    Type: str
    Attrs: _containers.ScalarMap[str, str]
    def __init__(self, Type: _Optional[str] = ..., Attrs: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CacheOptions(_message.Message):
    __slots__ = ("Exports", "Imports")
    EXPORTS_FIELD_NUMBER: _ClassVar[int]
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    Exports: _containers.RepeatedCompositeFieldContainer[CacheOptionsEntry]
    Imports: _containers.RepeatedCompositeFieldContainer[CacheOptionsEntry]
    def __init__(self, Exports: _Optional[_Iterable[_Union[CacheOptionsEntry, _Mapping]]] = ..., Imports: _Optional[_Iterable[_Union[CacheOptionsEntry, _Mapping]]] = ...) -> None: ...

class CacheOptionsEntry(_message.Message):
    __slots__ = ("Type", "Attrs")
    class AttrsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTRS_FIELD_NUMBER: _ClassVar[int]
    Type: str
    Attrs: _containers.ScalarMap[str, str]
    def __init__(self, Type: _Optional[str] = ..., Attrs: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SolveResponse(_message.Message):
    __slots__ = ("ExporterResponse",)
    class ExporterResponseEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EXPORTERRESPONSE_FIELD_NUMBER: _ClassVar[int]
    ExporterResponse: _containers.ScalarMap[str, str]
    def __init__(self, ExporterResponse: _Optional[_Mapping[str, str]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ("Ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    Ref: str
    def __init__(self, Ref: _Optional[str] = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("vertexes", "statuses", "logs", "warnings")
    VERTEXES_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    vertexes: _containers.RepeatedCompositeFieldContainer[Vertex]
    statuses: _containers.RepeatedCompositeFieldContainer[VertexStatus]
    logs: _containers.RepeatedCompositeFieldContainer[VertexLog]
    warnings: _containers.RepeatedCompositeFieldContainer[VertexWarning]
    def __init__(self, vertexes: _Optional[_Iterable[_Union[Vertex, _Mapping]]] = ..., statuses: _Optional[_Iterable[_Union[VertexStatus, _Mapping]]] = ..., logs: _Optional[_Iterable[_Union[VertexLog, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[VertexWarning, _Mapping]]] = ...) -> None: ...

class Vertex(_message.Message):
    __slots__ = ("digest", "inputs", "name", "cached", "started", "completed", "error", "progressGroup")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PROGRESSGROUP_FIELD_NUMBER: _ClassVar[int]
    digest: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    name: str
    cached: bool
    started: _timestamp_pb2.Timestamp
    completed: _timestamp_pb2.Timestamp
    error: str
    progressGroup: _ops_pb2.ProgressGroup
    def __init__(self, digest: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., cached: _Optional[bool] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ..., progressGroup: _Optional[_Union[_ops_pb2.ProgressGroup, _Mapping]] = ...) -> None: ...

class VertexStatus(_message.Message):
    __slots__ = ("ID", "vertex", "name", "current", "total", "timestamp", "started", "completed")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERTEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    ID: str
    vertex: str
    name: str
    current: int
    total: int
    timestamp: _timestamp_pb2.Timestamp
    started: _timestamp_pb2.Timestamp
    completed: _timestamp_pb2.Timestamp
    def __init__(self, ID: _Optional[str] = ..., vertex: _Optional[str] = ..., name: _Optional[str] = ..., current: _Optional[int] = ..., total: _Optional[int] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VertexLog(_message.Message):
    __slots__ = ("vertex", "timestamp", "stream", "msg")
    VERTEX_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    vertex: str
    timestamp: _timestamp_pb2.Timestamp
    stream: int
    msg: bytes
    def __init__(self, vertex: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stream: _Optional[int] = ..., msg: _Optional[bytes] = ...) -> None: ...

class VertexWarning(_message.Message):
    __slots__ = ("vertex", "level", "short", "detail", "url", "info", "ranges")
    VERTEX_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SHORT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RANGES_FIELD_NUMBER: _ClassVar[int]
    vertex: str
    level: int
    short: bytes
    detail: _containers.RepeatedScalarFieldContainer[bytes]
    url: str
    info: _ops_pb2.SourceInfo
    ranges: _containers.RepeatedCompositeFieldContainer[_ops_pb2.Range]
    def __init__(self, vertex: _Optional[str] = ..., level: _Optional[int] = ..., short: _Optional[bytes] = ..., detail: _Optional[_Iterable[bytes]] = ..., url: _Optional[str] = ..., info: _Optional[_Union[_ops_pb2.SourceInfo, _Mapping]] = ..., ranges: _Optional[_Iterable[_Union[_ops_pb2.Range, _Mapping]]] = ...) -> None: ...

class BytesMessage(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ("filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    filter: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, filter: _Optional[_Iterable[str]] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: _containers.RepeatedCompositeFieldContainer[WorkerRecord]
    def __init__(self, record: _Optional[_Iterable[_Union[WorkerRecord, _Mapping]]] = ...) -> None: ...

class WorkerRecord(_message.Message):
    __slots__ = ("ID", "Labels", "platforms", "BuildkitVersion")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    BUILDKITVERSION_FIELD_NUMBER: _ClassVar[int]
    ID: str
    Labels: _containers.ScalarMap[str, str]
    platforms: _containers.RepeatedCompositeFieldContainer[_ops_pb2.Platform]
    BuildkitVersion: BuildkitVersion
    def __init__(self, ID: _Optional[str] = ..., Labels: _Optional[_Mapping[str, str]] = ..., platforms: _Optional[_Iterable[_Union[_ops_pb2.Platform, _Mapping]]] = ..., BuildkitVersion: _Optional[_Union[BuildkitVersion, _Mapping]] = ...) -> None: ...

class BuildkitVersion(_message.Message):
    __slots__ = ("package", "version", "revision")
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    package: str
    version: str
    revision: str
    def __init__(self, package: _Optional[str] = ..., version: _Optional[str] = ..., revision: _Optional[str] = ...) -> None: ...

class InfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("buildkitVersion",)
    BUILDKITVERSION_FIELD_NUMBER: _ClassVar[int]
    buildkitVersion: BuildkitVersion
    def __init__(self, buildkitVersion: _Optional[_Union[BuildkitVersion, _Mapping]] = ...) -> None: ...
