"""The LLB capabilities of a daemon, derived from its BuildKit version.

The control API does not list the daemon's capabilities, so flense maps the
version onto the release in which BuildKit registered each capability ID
(``solver/pb/caps.go``, compared across BuildKit release tags). Docker
Engine builds, such as Debian's, may report BuildKit ``v0.0.0+unknown``;
for dockerd the engine version is then mapped onto the BuildKit release it
vendors.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]

# First BuildKit release that registers each capability ID. "v0.3.0" means
# v0.3.0 or earlier.
_CAPS_SINCE: dict[str, Version] = {
    "source.image": (0, 3, 0),
    "source.image.resolvemode": (0, 3, 0),
    "source.image.layerlimit": (0, 11, 0),
    "source.image.checksum": (0, 25, 0),
    "source.imageblob": (0, 28, 0),
    "source.ocilayout": (0, 11, 0),
    "source.local": (0, 3, 0),
    "source.local.unique": (0, 3, 0),
    "source.local.sessionid": (0, 3, 0),
    "source.local.includepatterns": (0, 3, 0),
    "source.local.excludepatterns": (0, 3, 0),
    "source.local.followpaths": (0, 3, 0),
    "source.local.sharedkeyhint": (0, 3, 0),
    "source.local.differ": (0, 9, 0),
    "source.local.metadatatransfer": (0, 21, 0),
    "source.git": (0, 3, 0),
    "source.git.keepgitdir": (0, 3, 0),
    "source.git.fullurl": (0, 3, 0),
    "source.git.httpauth": (0, 8, 0),
    "source.git.knownsshhosts": (0, 8, 0),
    "source.git.mountsshsock": (0, 8, 0),
    "source.git.subdir": (0, 9, 0),
    "source.git.checksum": (0, 22, 0),
    "source.git.skipsubmodules": (0, 24, 0),
    "source.git.signatureverify": (0, 26, 0),
    "source.git.mtime": (0, 29, 0),
    "source.git.fetchbycommit": (0, 30, 0),
    "source.git.bundle": (0, 30, 0),
    "source.git.checkoutbundle": (0, 30, 0),
    "source.http": (0, 3, 0),
    "source.http.checksum": (0, 3, 0),
    "source.http.perm": (0, 3, 0),
    "soruce.http.uidgid": (0, 3, 0),  # sic: BuildKit's real, misspelled ID
    "source.http.auth": (0, 21, 0),
    "source.http.header": (0, 21, 0),
    "source.http.signatureverify": (0, 28, 0),
    "source.buildop.llbfilename": (0, 3, 0),
    "constraints": (0, 3, 0),
    "platform": (0, 3, 0),
    "meta.ignorecache": (0, 3, 0),
    "meta.description": (0, 3, 0),
    "meta.exportcache": (0, 3, 0),
    "exec.meta.base": (0, 3, 0),
    "exec.meta.proxyenv": (0, 3, 0),
    "exec.meta.network": (0, 3, 0),
    "exec.meta.setsdefaultpath": (0, 3, 0),
    "exec.meta.security": (0, 5, 0),
    "exec.meta.security.devices.v1": (0, 7, 0),
    "exec.meta.cgroup.parent": (0, 10, 0),
    "exec.meta.ulimit": (0, 10, 0),
    "exec.meta.removemountstubs.recursive": (0, 11, 0),
    "exec.meta.cdi": (0, 20, 0),
    "exec.meta.network.proxy": (0, 31, 0),
    "exec.meta.linux.resources": (0, 31, 0),
    "exec.mount.bind": (0, 3, 0),
    "exec.mount.bind.readwrite-nooutput": (0, 6, 1),
    "exec.mount.cache": (0, 3, 0),
    "exec.mount.cache.sharing": (0, 3, 0),
    "exec.mount.selector": (0, 3, 0),
    "exec.mount.tmpfs": (0, 3, 0),
    "exec.mount.tmpfs.size": (0, 10, 0),
    "exec.mount.secret": (0, 3, 0),
    "exec.mount.ssh": (0, 3, 0),
    "exec.mount.cache.content": (0, 13, 0),
    "exec.cgroup": (0, 3, 0),
    "exec.secretenv": (0, 10, 0),
    "exec.validexitcode": (0, 17, 0),
    "file.base": (0, 5, 0),
    "file.rm.wildcard": (0, 7, 0),
    "file.copy.includeexcludepatterns": (0, 9, 0),
    "file.rm.nofollowsymlink": (0, 10, 0),
    "file.copy.alwaysreplaceexistingdestpaths": (0, 14, 0),
    "file.copy.modestring": (0, 17, 0),
    "file.symlink.create": (0, 19, 0),
    "file.copy.requiredpaths": (0, 26, 0),
    "mergeop": (0, 10, 0),
    "diffop": (0, 10, 0),
    "passthroughop": (0, 31, 0),
    "cache.gha": (0, 9, 0),
    "cache.s3": (0, 11, 0),
    "cache.azblob": (0, 11, 0),
    "exporter.image.annotations": (0, 11, 0),
    "exporter.image.attestations": (0, 11, 0),
    "exporter.sourcedateepoch": (0, 11, 0),
    "exporter.multiple": (0, 13, 0),
    "exporter.session": (0, 21, 0),
    "source.policy": (0, 11, 0),
    "source.policy.session": (0, 26, 0),
    "gc.freespacefilter": (0, 17, 0),
    "history.filter": (0, 20, 0),
}

# BuildKit vendored by Docker Engine releases (moby's vendor.conf and
# vendor.mod). An engine between two rows gets the earlier row's BuildKit,
# so its capabilities are a lower bound.
_DOCKER_BUILDKIT: tuple[tuple[Version, Version], ...] = (
    ((18, 9, 0), (0, 3, 0)),
    ((19, 3, 0), (0, 5, 1)),
    ((20, 10, 0), (0, 8, 0)),
    ((23, 0, 0), (0, 10, 6)),
    ((24, 0, 0), (0, 11, 6)),
    ((25, 0, 0), (0, 12, 5)),
    ((26, 0, 0), (0, 13, 1)),
    ((26, 1, 1), (0, 13, 2)),
    ((27, 0, 1), (0, 14, 1)),
    ((28, 0, 0), (0, 20, 0)),
    ((28, 5, 2), (0, 25, 2)),
    ((29, 2, 0), (0, 27, 0)),
    ((29, 7, 2), (0, 32, 2)),
)

_VERSION_PATTERN = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> Version | None:
    """Parse ``v0.13.2``, ``0.13.2-moby`` or ``26.1.5+dfsg1``; None if no version."""
    match = _VERSION_PATTERN.match(text.strip())
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def format_version(version: Version) -> str:
    return "v{}.{}.{}".format(*version)


def is_known_buildkit_version(text: str) -> bool:
    """Tell whether a reported BuildKit version is a real release number.

    Unstamped builds report ``v0.0.0+unknown`` (``-moby`` for dockerd).
    """
    version = parse_version(text)
    return version is not None and version != (0, 0, 0)


def buildkit_version_for_docker(engine_version: str) -> Version | None:
    """Return the BuildKit release a Docker Engine version vendors, or None."""
    version = parse_version(engine_version)
    if version is None:
        return None
    found: Version | None = None
    for docker, buildkit in _DOCKER_BUILDKIT:
        if version >= docker:
            found = buildkit
    return found


def caps_for(buildkit_version: Version) -> frozenset[str]:
    """Return the capability IDs that BuildKit ``buildkit_version`` registers."""
    return frozenset(
        cap for cap, since in _CAPS_SINCE.items() if buildkit_version >= since
    )


def all_caps() -> frozenset[str]:
    """Return every capability ID in flense's table."""
    return frozenset(_CAPS_SINCE)
