#!/usr/bin/env bash
# Regenerate the Python modules for flense's .proto files. Run it after
# editing any .proto under src/flense; the generated *_pb2*.py files are
# committed so that installing flense needs no protobuf compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}

protos=(
    src/flense/llb/proto/ops.proto
    src/flense/engine/proto/control.proto
    src/flense/engine/proto/fsutil.proto
    src/flense/engine/proto/filesync.proto
)
"$python" -m grpc_tools.protoc -I src \
    --python_out=src --pyi_out=src --grpc_python_out=src \
    "${protos[@]}"
# Services live only in control.proto and filesync.proto; protoc writes an
# empty *_pb2_grpc.py for the others.
rm -f src/flense/llb/proto/ops_pb2_grpc.py src/flense/engine/proto/fsutil_pb2_grpc.py
echo "regenerated: ${protos[*]}"
