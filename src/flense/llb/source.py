"""Source ops: images, local directories and git repositories."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from flense.llb.giturl import clean_subdir, git_identifier, parse_git_url
from flense.llb.platform import Platform
from flense.llb.proto import ops_pb2
from flense.llb.reference import normalize_image_reference
from flense.llb.state import State
from flense.llb.vertex import (
    MarshalContext,
    Output,
    ProgressGroup,
    Vertex,
    VertexOptions,
    new_op,
)

_RESOLVE_MODES = ("default", "pull", "local")
_DIFFERS = ("metadata", "none")


class SourceVertex(Vertex):
    """A ``SourceOp``: an identifier such as ``docker-image://…`` and attrs."""

    __slots__ = ("identifier", "attrs", "caps", "platform")

    def __init__(
        self,
        identifier: str,
        attrs: dict[str, str],
        caps: set[str],
        platform: Platform | None,
        options: VertexOptions,
    ) -> None:
        super().__init__(options)
        self.identifier = identifier
        self.attrs = attrs
        self.caps = caps
        self.platform = platform

    def build_op(self, context: MarshalContext) -> tuple[ops_pb2.Op, set[str]]:
        op = new_op()
        op.source.identifier = self.identifier
        attrs = op.source.attrs
        for key, value in self.attrs.items():
            attrs[key] = value
        # Only image sources depend on the platform: it picks the manifest
        # from an index. The Go client strips it from every other source.
        if self.identifier.startswith("docker-image://"):
            op.platform.CopyFrom((self.platform or context.platform).to_pb())
        return op, set(self.caps)


def _source_state(
    identifier: str,
    attrs: dict[str, str],
    caps: set[str],
    options: VertexOptions,
    platform: Platform | None = None,
) -> State:
    vertex = SourceVertex(identifier, attrs, caps, platform, options)
    return State(_output=Output(vertex, 0), _platform=platform)


def image(
    ref: str,
    *,
    platform: Platform | None = None,
    resolve_mode: str | None = None,
    name: str | None = None,
    description: Mapping[str, str] | None = None,
    ignore_cache: bool = False,
    progress_group: ProgressGroup | None = None,
) -> State:
    """Return the root filesystem of the image ``ref``.

    ``ref`` is normalized as Docker does: ``alpine`` becomes
    ``docker.io/library/alpine:latest``. An invalid reference raises
    ValueError. ``platform`` selects the image from a multi-platform index
    and becomes the state's platform; None uses the ``marshal`` platform.
    ``resolve_mode`` is ``default``, ``pull`` (always check the registry)
    or ``local`` (prefer a local image). The image's config (ENV, WORKDIR,
    USER) is not applied: fetch it and call ``State.with_image_config``.
    """
    attrs: dict[str, str] = {}
    caps = {"source.image"}
    if resolve_mode is not None:
        if resolve_mode not in _RESOLVE_MODES:
            raise ValueError(
                f"invalid resolve mode {resolve_mode!r}:"
                " use 'default', 'pull' or 'local'"
            )
        if resolve_mode != "default":
            attrs["image.resolvemode"] = resolve_mode
        if resolve_mode == "pull":
            caps.add("source.image.resolvemode")
    identifier = "docker-image://" + normalize_image_reference(ref)
    options = VertexOptions.build(name, description, ignore_cache, progress_group)
    return _source_state(identifier, attrs, caps, options, platform)


def _json_list(values: Sequence[str]) -> str:
    # Encode like Go's json.Marshal, whose output the daemon decodes: no
    # spaces, non-ASCII kept as UTF-8, and <, >, & and U+2028/U+2029 escaped.
    text = json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))
    for character, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(character, escape)
    return text


def local(
    directory: str,
    /,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    follow_paths: Sequence[str] = (),
    shared_key_hint: str | None = None,
    differ: str | None = None,
    session_id: str | None = None,
    unique: str | None = None,
    name: str | None = None,
    description: Mapping[str, str] | None = None,
    ignore_cache: bool = False,
    progress_group: ProgressGroup | None = None,
) -> State:
    """Return the client directory that the build session serves as ``directory``.

    ``include`` and ``exclude`` are Docker-style patterns that the client
    applies before sending. ``follow_paths`` are paths whose symlinks the
    client resolves. ``shared_key_hint`` names the previous transfer the
    daemon diffs against, so a rebuild sends only changed files.
    ``differ`` is ``metadata`` (the default) or ``none`` (send every file).
    ``session_id`` pins the transfer to one session. ``directory`` is
    positional-only, so ``name=`` sets the vertex's progress name as it
    does for every other op.

    ``unique`` sets the ``local.unique`` attr, which only changes the op's
    digest. BuildKit runs identical vertices of concurrent builds once, so
    two builds whose local ops are byte-identical share one transfer, from
    whichever session started it. Go's ``llb.Local`` therefore adds a random
    value; flense passes a value of its own so that output stays
    deterministic.
    """
    if not directory:
        raise ValueError(
            "invalid local directory name '': give the name the build session"
            " serves the directory under, such as 'context'"
        )
    attrs: dict[str, str] = {}
    caps = {"source.local"}
    if session_id:
        attrs["local.session"] = session_id
        caps.add("source.local.sessionid")
    if unique:
        attrs["local.unique"] = unique
        caps.add("source.local.unique")
    if include:
        # The attr key is singular although the cap name is plural.
        attrs["local.includepattern"] = _json_list(include)
        caps.add("source.local.includepatterns")
    if follow_paths:
        attrs["local.followpaths"] = _json_list(follow_paths)
        caps.add("source.local.followpaths")
    if exclude:
        attrs["local.excludepatterns"] = _json_list(exclude)
        caps.add("source.local.excludepatterns")
    if shared_key_hint:
        attrs["local.sharedkeyhint"] = shared_key_hint
        caps.add("source.local.sharedkeyhint")
    if differ is not None:
        if differ not in _DIFFERS:
            raise ValueError(f"invalid differ {differ!r}: use 'metadata' or 'none'")
        attrs["local.differ"] = differ
        # Go's client adds this cap only for a differ marked as required.
        # Here it is always added, so a daemon older than 0.9 rejects the
        # op instead of ignoring the differ.
        caps.add("source.local.differ")
    options = VertexOptions.build(name, description, ignore_cache, progress_group)
    return _source_state("local://" + directory, attrs, caps, options)


def git(
    remote: str,
    ref: str | None = None,
    *,
    keep_git_dir: bool = False,
    subdir: str | None = None,
    known_ssh_hosts: str | None = None,
    name: str | None = None,
    description: Mapping[str, str] | None = None,
    ignore_cache: bool = False,
    progress_group: ProgressGroup | None = None,
) -> State:
    """Return a checkout of ``ref`` (branch, tag or commit) of a git remote.

    ``remote`` is an https, ssh, git or SCP-style (``git@host:org/repo``)
    URL, and one without a scheme gets ``https://``. A ``#ref[:subdir]``
    fragment on the URL is used when ``ref`` and ``subdir`` are not given.
    The ``.git`` directory is removed unless ``keep_git_dir``.
    Auth secrets ``GIT_AUTH_TOKEN`` and ``GIT_AUTH_HEADER`` are named in
    the attrs, as Go's client does; the daemon ignores missing secrets.
    For SSH remotes the default SSH agent is mounted. Unlike Go's client,
    no ``ssh-keyscan`` runs while the graph is built: pass
    ``known_ssh_hosts`` to pin host keys.
    """
    parsed = parse_git_url(remote)
    fragment_ref, _, fragment_subdir = parsed.fragment.partition(":")
    if parsed.fragment and (ref is not None or subdir is not None):
        raise ValueError(
            f"git remote {remote!r} has a #fragment and ref or subdir is also"
            " given: pass the ref and subdir in one place"
        )
    ref = ref if ref is not None else fragment_ref
    subdir = clean_subdir(subdir if subdir is not None else fragment_subdir)

    attrs = {
        "git.fullurl": parsed.remote,
        "git.authtokensecret": "GIT_AUTH_TOKEN",
        "git.authheadersecret": "GIT_AUTH_HEADER",
    }
    caps = {"source.git", "source.git.fullurl"}
    if keep_git_dir:
        attrs["git.keepgitdir"] = "true"
        caps.add("source.git.keepgitdir")
    if parsed.scheme == "ssh":
        if known_ssh_hosts:
            attrs["git.knownsshhosts"] = known_ssh_hosts.rstrip("\n") + "\n"
        attrs["git.mountsshsock"] = "default"
        caps.update(("source.git.knownsshhosts", "source.git.mountsshsock"))
    identifier = "git://" + git_identifier(parsed, ref, subdir)
    options = VertexOptions.build(name, description, ignore_cache, progress_group)
    return _source_state(identifier, attrs, caps, options)
