"""Target platforms (OS, architecture, variant) as BuildKit names them."""

from __future__ import annotations

import platform as host
from dataclasses import dataclass, field

from flense.llb.proto import ops_pb2

# ``platform.machine()`` values mapped to Go's GOARCH name and variant.
_HOST_MACHINES: dict[str, tuple[str, str]] = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armv8l": ("arm", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "armv5tel": ("arm", "v5"),
    "i386": ("386", ""),
    "i686": ("386", ""),
}


def _normalize_architecture(architecture: str, variant: str) -> tuple[str, str]:
    # The aliases and default variants of containerd's platforms.Normalize,
    # which BuildKit applies to every platform it receives.
    architecture, variant = architecture.lower(), variant.lower()
    if architecture == "i386":
        return "386", ""
    if architecture in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if architecture in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            variant = ""
        elif variant in ("9", "9.0", "v9.0"):
            variant = "v9"
        return "arm64", variant
    if architecture == "armhf":
        return "arm", "v7"
    if architecture == "armel":
        return "arm", "v6"
    if architecture == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
    return architecture, variant


def _host_architecture() -> tuple[str, str]:
    machine = host.machine().lower()
    return _HOST_MACHINES.get(machine, (machine, ""))


@dataclass(frozen=True)
class Platform:
    """An OCI platform, normalized the way containerd normalizes it.

    ``Platform()`` is Linux on the machine's own architecture, spelled as Go
    spells it (``amd64``, ``arm64``, ``arm`` + ``v7``). Aliases such as
    ``x86_64`` or ``aarch64`` are accepted and normalized.
    """

    os: str = "linux"
    architecture: str = ""
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        architecture, variant = self.architecture, self.variant
        if not architecture:
            architecture, host_variant = _host_architecture()
            variant = variant or host_variant
        architecture, variant = _normalize_architecture(architecture, variant)
        os_name = self.os.lower()
        if os_name == "macos":
            os_name = "darwin"
        object.__setattr__(self, "os", os_name)
        object.__setattr__(self, "architecture", architecture)
        object.__setattr__(self, "variant", variant)
        object.__setattr__(self, "os_features", tuple(self.os_features))

    @classmethod
    def parse(cls, specifier: str) -> Platform:
        """Parse ``os/arch[/variant]``, for example ``linux/arm64``.

        Raises ValueError when the specifier does not have two or three
        non-empty parts.
        """
        parts = specifier.split("/")
        if not 2 <= len(parts) <= 3 or not all(parts):
            raise ValueError(
                f"invalid platform {specifier!r}: expected os/architecture"
                " or os/architecture/variant, for example linux/amd64"
            )
        variant = parts[2] if len(parts) == 3 else ""
        return cls(os=parts[0], architecture=parts[1], variant=variant)

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    def to_pb(self) -> ops_pb2.Platform:
        """Return the ``pb.Platform`` message for ``Op.platform``."""
        return ops_pb2.Platform(
            OS=self.os,
            Architecture=self.architecture,
            Variant=self.variant,
            OSVersion=self.os_version,
            OSFeatures=list(self.os_features),
        )
