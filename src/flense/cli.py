"""The ``flense`` command: compile, build and blubber subcommands."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn

from flense import __version__, llb
from flense.assemble import DEFAULT_MAX_LAYERS, LayerBudgetError
from flense.errors import FlenseError, UsageError, UserInputError

if TYPE_CHECKING:
    from flense.manifest import Manifest

log = logging.getLogger("flense")

FORMATS = ("llb", "json", "dot")
PROGRESS_MODES = ("auto", "tty", "plain", "quiet", "rawjson")


# The manifest argument that reads standard input, and its name in messages.
STDIN_ARGUMENT = "-"
STDIN_NAME = Path("<stdin>")

# Loggers of the HTTP/2 and gRPC libraries, kept at WARNING below -vvv
# because their debug output (every HTTP/2 frame and header) buries
# flense's own.
LIBRARY_LOGGERS = ("hpack", "h2", "grpc")


def _progress_mode(requested: str | None) -> str:
    """Return --progress, else $BUILDKIT_PROGRESS, else auto.

    Like buildx, reject an invalid BUILDKIT_PROGRESS instead of ignoring it.
    """
    if requested is not None:
        return requested
    value = os.environ.get("BUILDKIT_PROGRESS", "")
    if not value:
        return "auto"
    if value not in PROGRESS_MODES:
        raise UsageError(
            f"invalid BUILDKIT_PROGRESS={value!r}: use one of "
            f"{', '.join(PROGRESS_MODES)}, or unset it"
        )
    return value


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line and exit with its status."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        status = args.run(args)
    except UserInputError as error:
        # Located errors start with FILE:LINE:COLUMN, as compilers print
        # them, so editors and CI annotations can jump to the spot.
        prefix = "" if error.location is not None else "flense: error: "
        print(f"{prefix}{error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except FlenseError as error:
        print(f"flense: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("flense: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # The reader of stdout went away (`flense compile | head`): exit
        # quietly, and keep Python from reporting the broken pipe at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    sys.exit(status)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flense",
        description=(
            "Compose one container image from many independently built "
            "components with BuildKit."
        ),
    )
    parser.add_argument("--version", action="version", version=f"flense {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help=(
            "log what flense does on stderr (-v: stages, -vv: debug detail, "
            "-vvv: also the debug logs of the HTTP/2 and gRPC libraries)"
        ),
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    compile_parser = commands.add_parser(
        "compile",
        help="write a manifest's LLB graph to stdout",
        description=(
            "Compile MANIFEST into one BuildKit LLB definition and write it to "
            "stdout, ready for `buildctl build --local context=DIR`."
        ),
    )
    _add_manifest_arguments(
        compile_parser,
        "the manifest file, usually .pipeline/manifest.yaml, or - to read it "
        "from standard input",
    )
    _add_format_argument(compile_parser, FORMATS)
    compile_parser.set_defaults(run=_run_compile, command="compile")

    build_parser = commands.add_parser(
        "build",
        help="build a manifest (or one Blubber variant) with BuildKit",
        description=(
            "Compile MANIFEST and build it with BuildKit: the engine embedded in "
            "dockerd by default, or a buildkitd given by --addr or BUILDKIT_HOST. "
            "A compiled LLB definition is built as it is, with --context served "
            "as the local directory named context."
        ),
    )
    _add_manifest_arguments(
        build_parser,
        "the manifest file, usually .pipeline/manifest.yaml; with --variant, a "
        "Blubber config; or an LLB definition that flense compile wrote. - "
        "reads a manifest or a definition from standard input",
    )
    _add_engine_arguments(build_parser)
    build_parser.set_defaults(run=_run_build, command="build")

    blubber_parser = commands.add_parser(
        "blubber",
        help="write one Blubber variant's LLB graph to stdout",
        description=(
            "Compile VARIANT of the Blubber config CONFIG and write its LLB to "
            "stdout, like `blubber CONFIG VARIANT`."
        ),
    )
    blubber_parser.add_argument(
        "config",
        type=Path,
        metavar="CONFIG",
        help="the Blubber config, usually .pipeline/blubber.yaml",
    )
    blubber_parser.add_argument(
        "variant", metavar="VARIANT", help="the variant of CONFIG to compile"
    )
    blubber_parser.add_argument(
        "--context",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="build context the config's local files are read from (default: .)",
    )
    _add_format_argument(blubber_parser, (*FORMATS, "dockerfile"))
    blubber_parser.set_defaults(run=_run_blubber)
    return parser


def _add_manifest_arguments(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("manifest", type=Path, metavar="MANIFEST", help=help_text)
    parser.add_argument(
        "--context",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="directory component sources are relative to (default: .)",
    )
    parser.add_argument(
        "--max-layers",
        type=int,
        default=DEFAULT_MAX_LAYERS,
        metavar="N",
        help=(
            "maximum number of layers in the final image; components are grouped "
            f"to stay under it (default: {DEFAULT_MAX_LAYERS})"
        ),
    )
    parser.add_argument(
        "--assemble",
        choices=("auto", "merge", "chain"),
        default="auto",
        help=(
            "merge: join component layers with one MergeOp; chain: copy them one "
            "after another, for engines without MergeOp (BuildKit older than 0.10, "
            "or Docker Engine without the containerd image store); auto (default): "
            "merge, unless `flense build` finds that the engine lacks MergeOp"
        ),
    )
    parser.add_argument(
        "--single-context",
        action="store_true",
        help=(
            "send the whole context as one transfer and apply the excludes while "
            "copying, as the 2020 prototype did (slower; for comparison)"
        ),
    )


def _add_format_argument(
    parser: argparse.ArgumentParser, formats: Sequence[str]
) -> None:
    parser.add_argument(
        "--format",
        choices=formats,
        default="llb",
        help=(
            "llb: the binary definition `buildctl build` reads (default); json: "
            "one readable object per op; dot: a graphviz graph"
            + (
                "; dockerfile: an equivalent Dockerfile"
                if "dockerfile" in formats
                else ""
            )
        ),
    )


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--addr",
        metavar="ADDRESS",
        help=(
            "BuildKit to use: unix:///path or tcp://host:port for a buildkitd, "
            "docker://[socket] for dockerd's (default: $BUILDKIT_HOST, else the "
            "Docker Engine at $DOCKER_HOST or /var/run/docker.sock)"
        ),
    )
    parser.add_argument(
        "-t",
        "--tag",
        action="append",
        default=[],
        metavar="NAME",
        help="name the image and store it in the engine (repeatable)",
    )
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="SPEC",
        help=(
            "export the result, as buildctl does: type=local,dest=DIR; "
            "type=tar,dest=FILE (- for stdout); type=oci,dest=FILE; "
            "type=docker,dest=FILE; type=image,name=NAME; as buildx does, DIR "
            "alone is a local export and - a tar on stdout (repeatable)"
        ),
    )
    parser.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        default=None,
        help=(
            "progress display: tty on a terminal, plain lines otherwise "
            "(default: $BUILDKIT_PROGRESS, else auto)"
        ),
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="run every step again instead of using the build cache",
    )
    parser.add_argument(
        "--export-cache",
        action="append",
        default=[],
        metavar="SPEC",
        help=(
            "export the build cache, as buildctl does: type=inline, or "
            "type=registry,ref=REF (repeatable)"
        ),
    )
    parser.add_argument(
        "--import-cache",
        action="append",
        default=[],
        metavar="SPEC",
        help=(
            "import a build cache, as buildctl does: type=registry,ref=REF (repeatable)"
        ),
    )
    parser.add_argument(
        "--variant",
        metavar="VARIANT",
        help="treat MANIFEST as a Blubber config and build this variant of it",
    )


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity >= 2:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="flense: %(levelname)s: %(message)s")
    library_level = logging.DEBUG if verbosity >= 3 else logging.WARNING
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)


@dataclass(frozen=True)
class _Input:
    """The bytes of the MANIFEST argument, read once, and its name in messages."""

    name: Path
    data: bytes


def _read_input(argument: Path) -> _Input:
    """Read MANIFEST once: a file, or standard input for "-".

    A pipe (`/dev/stdin`, `<(...)`) gives its bytes only once, so every later
    step parses these bytes instead of opening the file again.
    """
    from flense.yamlfile import read_file

    if str(argument) == STDIN_ARGUMENT:
        return _Input(STDIN_NAME, sys.stdin.buffer.read())
    return _Input(argument, read_file(argument))


def _display_path(name: Path, placeholder: str) -> str:
    return placeholder if name == STDIN_NAME else str(name)


def _compiled_definition(data: bytes) -> llb.Definition | None:
    """Return ``data`` as an LLB definition when it is one, else None.

    A marshalled pb.Definition contains bytes that no YAML file may contain
    (C0 control characters, or bytes that are not UTF-8), so a manifest or
    Blubber config is never taken for one.
    """
    if not data or not _has_non_yaml_bytes(data):
        return None
    try:
        definition = llb.Definition.from_bytes(data)
    except ValueError:
        return None
    return definition if definition.ops else None


def _has_non_yaml_bytes(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ord(c) < 0x20 and c not in "\t\n\r" for c in text)


def _top_level_keys(source: _Input) -> set[str]:
    """Return the top-level keys of a YAML file; empty when it is not YAML."""
    from flense.yamlfile import load_yaml

    try:
        root = load_yaml(source.name, source.data)
    except UserInputError:
        return set()
    return set(root.value) if isinstance(root.value, dict) else set()


def _load_manifest(args: argparse.Namespace, source: _Input) -> Manifest:
    """Load MANIFEST, explaining what to do with a Blubber config instead."""
    from flense.manifest import load_manifest

    context = _context_dir(args.context)
    if _top_level_keys(source) >= {"version", "variants"}:
        config = _display_path(source.name, "CONFIG")
        if args.command == "compile":
            fix = f"compile one of its variants with `flense blubber {config} VARIANT`"
        else:
            fix = (
                f"build one of its variants with `flense build {config} --variant NAME`"
            )
        raise UsageError(f"{source.name} is a Blubber config, not a manifest: {fix}")
    return load_manifest(source.name, context, source.data)


def _compile_manifest(
    args: argparse.Namespace,
    manifest: Manifest,
    engine_caps: frozenset[str] | None = None,
) -> llb.Definition:
    from flense.compose import compose

    started = time.monotonic()
    try:
        state = compose(
            manifest,
            max_layers=args.max_layers,
            mode=_assemble_mode(args.assemble, engine_caps),
            single_context=args.single_context,
            engine_address=getattr(args, "addr", None),
            nonce=getattr(args, "nonce", ""),
        )
    except LayerBudgetError as error:
        raise UsageError(f"--max-layers {args.max_layers}: {error}") from error
    definition = llb.marshal(state)
    log.info(
        "compiled %s: %d components, %d ops in %.2fs",
        manifest.path,
        len(manifest.components),
        len(definition.ops),
        time.monotonic() - started,
    )
    return definition


def _assemble_mode(
    requested: str, engine_caps: frozenset[str] | None
) -> Literal["merge", "chain"]:
    """Choose merge or chain assembly for the engine, when it is known."""
    has_merge = engine_caps is None or "mergeop" in engine_caps
    if requested == "merge" and not has_merge:
        raise UsageError(
            "--assemble merge: this engine does not run MergeOp; use --assemble "
            "chain, or start dockerd with the containerd image store "
            '(features: {"containerd-snapshotter": true}; scripts/engine.sh does)'
        )
    if requested == "merge":
        return "merge"
    if requested == "chain":
        return "chain"
    if has_merge:
        return "merge"
    log.warning(
        "the engine does not run MergeOp, so components are copied one after "
        "another and a change re-runs every later layer; start dockerd with the "
        "containerd image store to join them with one MergeOp"
    )
    return "chain"


def _check_blubber_config(config: Path, command: str) -> None:
    """Reject a manifest or a compiled definition given as a Blubber config.

    ``command`` is "blubber" or "build". Only a regular file is read for this
    check, because the Blubber loader reads the config again and a pipe
    gives its bytes only once.
    """
    from flense.yamlfile import read_file

    if str(config) == STDIN_ARGUMENT:
        raise UsageError(
            "a Blubber config cannot be read from standard input; give its path, "
            "such as .pipeline/blubber.yaml"
        )
    if not config.is_file():
        return
    source = _Input(config, read_file(config))
    if _compiled_definition(source.data) is not None:
        fix = f"build it with `flense build {config}`"
        if command == "build":
            fix += " without --variant"
        raise UsageError(
            f"{config} is a compiled LLB definition, not a Blubber config: {fix}"
        )
    if "components" in _top_level_keys(source):
        fix = f"compile it with `flense compile {config}`"
        if command == "build":
            fix = "build it without --variant"
        raise UsageError(
            f"{config} is a manifest, not a Blubber config: {fix}, or give the "
            "Blubber config of one component"
        )


def _compile_blubber(
    config: Path,
    variant: str,
    context: Path,
    address: str | None = None,
    nonce: str = "",
) -> tuple[llb.Definition, dict[str, object]]:
    from flense.blubber.baseimage import DockerImageResolver
    from flense.builders.blubber import compile_variant

    return compile_variant(
        config,
        variant,
        _context_dir(context),
        resolver=DockerImageResolver(address),
        nonce=nonce,
    )


def _run_compile(args: argparse.Namespace) -> int:
    source = _read_input(args.manifest)
    if _compiled_definition(source.data) is not None:
        rebuild_path = _display_path(source.name, "-")
        raise UsageError(
            f"{source.name} is a compiled LLB definition, not a manifest: flense "
            f"compile takes a manifest; build the definition with `flense build "
            f"{rebuild_path}` or `buildctl build --local context=DIR`"
        )
    definition = _compile_manifest(args, _load_manifest(args, source))
    _write_definition(definition, args.format)
    return 0


def _run_blubber(args: argparse.Namespace) -> int:
    _check_blubber_config(args.config, "blubber")
    if args.format == "dockerfile":
        from flense.builders.blubber import render_dockerfile

        _write_text(
            render_dockerfile(args.config, args.variant, _context_dir(args.context))
        )
        return 0
    definition, _image_config = _compile_blubber(
        args.config, args.variant, args.context
    )
    _write_definition(definition, args.format)
    return 0


def _run_build(args: argparse.Namespace) -> int:
    from flense.build import BuildRequest, run_build

    progress = _progress_mode(args.progress)
    for tag in args.tag:
        _check_tag(tag)
    # A build of its own never shares a local transfer with another build.
    args.nonce = secrets.token_hex(8)
    definition: llb.Definition | Callable[[frozenset[str]], llb.Definition]
    image_config = None
    if args.variant is not None:
        _check_blubber_config(args.manifest, "build")
        _warn_layout_options(args, "with --variant")
        definition, image_config = _compile_blubber(
            args.manifest, args.variant, args.context, args.addr, args.nonce
        )
    else:
        source = _read_input(args.manifest)
        compiled = _compiled_definition(source.data)
        if compiled is not None:
            log.info("building the compiled LLB definition %s", source.name)
            _warn_layout_options(args, "for a compiled LLB definition")
            _check_definition_context(compiled, _context_dir(args.context))
            definition = compiled
        else:
            # The manifest is checked now and compiled once the engine's
            # capabilities are known.
            manifest = _load_manifest(args, source)
            definition = partial(_compile_manifest, args, manifest)
    request = BuildRequest(
        definition=definition,
        context=_context_dir(args.context),
        address=args.addr,
        tags=tuple(args.tag),
        outputs=tuple(args.output),
        progress=progress,
        no_cache=args.no_cache,
        export_cache=tuple(args.export_cache),
        import_cache=tuple(args.import_cache),
        image_config=image_config,
    )
    run_build(request)
    return 0


def _check_definition_context(definition: llb.Definition, context: Path) -> None:
    """Reject a definition whose component directories are not in ``context``.

    The engine would fail only after the transfer, with "not found" and no
    hint, when the definition is built from another directory than the
    one flense compile ran in.
    """
    for entry in definition.ops:
        source = entry.op.source
        if source.identifier != "local://context":
            continue
        try:
            includes = json.loads(source.attrs.get("local.includepattern", "[]"))
        except ValueError:
            continue
        for pattern in includes:
            path = _literal_path(pattern) if isinstance(pattern, str) else None
            if path is not None and not os.path.lexists(context / path):
                raise UsageError(
                    f"the definition reads {path!r} from the local directory "
                    f"context, which is not in {context}; run flense build in "
                    "the directory where flense compile ran, or pass --context "
                    "with it"
                )


def _literal_path(pattern: str) -> str | None:
    """Return the path a pattern of flense.patterns.escape names, else None."""
    characters: list[str] = []
    escaped = False
    for character in pattern:
        if escaped:
            characters.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character in "*?[":
            return None
        else:
            characters.append(character)
    return "".join(characters) or None


def _warn_layout_options(args: argparse.Namespace, reason: str) -> None:
    """Warn about layout options given where they have no effect."""
    ignored = [
        option
        for option, value, default in (
            ("--max-layers", args.max_layers, DEFAULT_MAX_LAYERS),
            ("--assemble", args.assemble, "auto"),
            ("--single-context", args.single_context, False),
        )
        if value != default
    ]
    if not ignored:
        return
    if len(ignored) == 1:
        verbs = "applies to manifests and is"
    else:
        verbs = "apply to manifests and are"
    log.warning("%s %s ignored %s", ", ".join(ignored), verbs, reason)


def _check_tag(tag: str) -> None:
    """Reject an invalid --tag before anything is built, naming the fix."""
    try:
        llb.normalize_image_reference(tag)
    except ValueError as error:
        raise UsageError(_describe_bad_tag(tag)) from error


def _describe_bad_tag(tag: str) -> str:
    example = "use a name such as mw:dev or registry.example/mediawiki:1.43"
    if not tag:
        return f"--tag '': the image name is empty; {example}"
    name, digest_mark, digest = tag.partition("@")
    repository, tag_mark, version = name, "", ""
    if ":" in name.rsplit("/", 1)[-1]:
        repository, tag_mark, version = name.rpartition(":")
    if tag_mark and not version:
        return (
            f"--tag {tag!r}: the tag after ':' is empty; add one, as in "
            f"{repository + ':dev'!r}, or remove the ':'"
        )
    lowered = repository.lower() + tag_mark + version + digest_mark + digest
    if lowered != tag and _is_valid_tag(lowered):
        return (
            f"--tag {tag!r}: the repository name {repository!r} must be "
            f"lowercase; use {lowered!r}"
        )
    return (
        f"--tag {tag!r}: invalid image name: a repository name contains only "
        f"lowercase letters, digits, '.', '_', '-' and '/'; {example}"
    )


def _is_valid_tag(tag: str) -> bool:
    try:
        llb.normalize_image_reference(tag)
    except ValueError:
        return False
    return True


def _context_dir(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"--context {path}: not found; give the build context")
    if not path.is_dir():
        raise UsageError(
            f"--context {path}: not a directory; give the build context directory"
        )
    return path.resolve()


def _write_definition(definition: llb.Definition, output_format: str) -> None:
    if output_format == "json":
        _write_text(definition.to_json())
        return
    if output_format == "dot":
        _write_text(definition.to_dot(clusters=_component_cluster))
        return
    if sys.stdout.isatty():
        raise UsageError(
            "refusing to write binary LLB to a terminal: pipe it into "
            "`buildctl build --local context=.`, or use --format json to read it"
        )
    sys.stdout.buffer.write(definition.to_bytes())
    sys.stdout.buffer.flush()


def _write_text(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def _component_cluster(digest: str, metadata: object) -> str | None:
    description = getattr(metadata, "description", {})
    return description.get("flense.component") if description else None
