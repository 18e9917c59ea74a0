"""The contenders: ways to turn a superproject tree into one image or copy.

Each contender has three steps. ``prepare`` writes what a build needs (a
Dockerfile, an ignore file, tar's exclude options) outside the timed region.
``run`` performs one timed build. ``measure`` inspects the result (the image
layers) after the clock has stopped.
"""

from __future__ import annotations

import logging
import re
import shlex
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from commands import CommandResult, run_command

from flense.manifest import Manifest

logger = logging.getLogger(__name__)

DOCKER = "/usr/bin/docker"
DEFAULT_IMAGE_PREFIX = "flense-bench"

# Docker's layer store rejects images deeper than 125 layers (maxLayerDepth
# in moby's layer_store.go), so a Dockerfile with one COPY per component
# cannot build a tree of more components than this.
MAX_DOCKER_LAYERS = 125

COLD = "cold"
NO_CHANGE = "no change"
FILE_CHANGED = "one file changed"
COMPONENT_ADDED = "component added"
COMPILE = "compile only"
BUILD_SCENARIOS = (COLD, NO_CHANGE, FILE_CHANGED, COMPONENT_ADDED)

_DECIMAL_UNITS = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_SIZE = r"([0-9.]+)\s*(B|kB|MB|GB|TB)"


@dataclass(frozen=True)
class Measurement:
    """Figures of one timed run. ``None`` marks a figure the contender lacks."""

    seconds: float
    bytes_transferred: int | None
    max_rss_kib: int | None
    layers: tuple[str, ...] | None = None


class Contender(ABC):
    """One way of building the tree, run through the same scenarios."""

    name: str
    description: str
    scenarios: tuple[str, ...] = BUILD_SCENARIOS

    def unavailable_reason(self, manifest: Manifest) -> str | None:
        """Return why this contender cannot run on this machine or tree."""
        return None

    @abstractmethod
    def prepare(self, manifest: Manifest, workdir: Path) -> None:
        """Write the inputs of the next run; not timed."""

    @abstractmethod
    def run(self, manifest: Manifest, scenario: str) -> CommandResult:
        """Perform one timed run of ``scenario``."""

    @abstractmethod
    def measure(self, result: CommandResult, scenario: str) -> Measurement:
        """Turn a finished run into figures; not timed."""

    @property
    def image(self) -> str | None:
        """Image name this contender writes, if it writes one."""
        return None


class Floor(Contender):
    """``tar -c | tar -x`` of the filtered components into a fresh directory.

    An image build also reads and writes every kept file, so this copy is a
    floor for a cold build. That is an estimate, because a build could write
    less metadata than tar does.

    The manifest's excludes become GNU tar exclude options that match the
    same paths: a plain pattern is anchored at each component's directory,
    and ``**/NAME`` matches NAME at any depth.
    """

    name = "floor"
    description = "`tar -c | tar -x` of the filtered tree"
    scenarios = (COLD,)

    def __init__(self) -> None:
        self._command: list[str] = []
        self._copy_dir: Path | None = None

    def unavailable_reason(self, manifest: Manifest) -> str | None:
        try:
            tar_exclude_options(manifest)
        except ValueError as error:
            return str(error)
        return None

    def prepare(self, manifest: Manifest, workdir: Path) -> None:
        self._copy_dir = workdir / "floor-copy"
        if self._copy_dir.exists():
            shutil.rmtree(self._copy_dir)
        self._copy_dir.mkdir(parents=True)
        sources = [component.source for component in manifest.components]
        create = ["tar", "-c", "-f", "-", "--totals", "-C", str(manifest.context)]
        create += tar_exclude_options(manifest)
        create += ["--", *sources]
        extract = ["tar", "-x", "-f", "-", "-C", str(self._copy_dir)]
        script = f"set -o pipefail; {shlex.join(create)} | {shlex.join(extract)}"
        self._command = ["bash", "-c", script]

    def run(self, manifest: Manifest, scenario: str) -> CommandResult:
        return run_command(self._command)

    def measure(self, result: CommandResult, scenario: str) -> Measurement:
        match = re.search(r"Total bytes written: (\d+)", result.stderr)
        return Measurement(
            seconds=result.seconds,
            bytes_transferred=int(match.group(1)) if match else None,
            max_rss_kib=None,
        )


def tar_exclude_options(manifest: Manifest) -> list[str]:
    """Translate the manifest's excludes into GNU tar options.

    Raises ValueError for a pattern with glob characters other than a
    leading ``**/``, because tar's wildcards differ from ignore-file ones.
    """
    anywhere: list[str] = []
    anchored: list[str] = []
    for pattern in manifest.exclude:
        name = pattern.removeprefix("**/")
        if pattern.startswith("!") or any(char in name for char in "*?[\\"):
            raise ValueError(
                f"exclude pattern {pattern!r} has no GNU tar equivalent here; "
                "the floor handles plain paths and **/NAME only"
            )
        if pattern.startswith("**/"):
            anywhere.append(name)
            continue
        for component in manifest.components:
            prefix = "" if component.source == "." else component.source + "/"
            anchored.append(prefix + name)
    options = ["--anchored", "--no-wildcards"]
    options += [f"--exclude={path}" for path in anchored]
    options += ["--no-anchored"]
    options += [f"--exclude={name}" for name in anywhere]
    return options


class Buildx(Contender):
    """``docker buildx build`` of a generated Dockerfile, one COPY per component."""

    def __init__(self, link: bool, image_prefix: str = DEFAULT_IMAGE_PREFIX) -> None:
        self.link = link
        self.image_prefix = image_prefix
        self.name = "buildx-link" if link else "buildx-chain"
        flag = "`COPY --link`" if link else "COPY chain"
        self.description = f"`docker buildx build`, {flag}"
        self._dockerfile: Path | None = None

    @property
    def image(self) -> str:
        return f"{self.image_prefix}/{self.name}:latest"

    def unavailable_reason(self, manifest: Manifest) -> str | None:
        if len(manifest.components) > MAX_DOCKER_LAYERS:
            return (
                f"{len(manifest.components)} components need as many layers, "
                f"more than Docker's limit of {MAX_DOCKER_LAYERS}"
            )
        result = run_command([DOCKER, "buildx", "version"])
        if result.returncode != 0:
            return f"`docker buildx version` failed: {result.stderr.strip()}"
        return None

    def prepare(self, manifest: Manifest, workdir: Path) -> None:
        directory = workdir / self.name
        directory.mkdir(parents=True, exist_ok=True)
        self._dockerfile = directory / "Dockerfile"
        self._dockerfile.write_text(dockerfile_text(manifest, link=self.link))
        # BuildKit's Dockerfile frontend reads <Dockerfile>.dockerignore next
        # to the Dockerfile in place of the context's .dockerignore, so the
        # tree itself stays untouched.
        ignore = directory / "Dockerfile.dockerignore"
        ignore.write_text(dockerignore_text(manifest))

    def run(self, manifest: Manifest, scenario: str) -> CommandResult:
        assert self._dockerfile is not None, "prepare() was not called"
        return run_command(
            [
                DOCKER,
                "buildx",
                "build",
                "--progress",
                "plain",
                "--file",
                str(self._dockerfile),
                "--output",
                f"type=image,name={self.image}",
                str(manifest.context),
            ]
        )

    def measure(self, result: CommandResult, scenario: str) -> Measurement:
        return Measurement(
            seconds=result.seconds,
            bytes_transferred=buildx_context_bytes(result.stderr),
            max_rss_kib=None,
            layers=image_layers(self.image),
        )


def dockerfile_text(manifest: Manifest, *, link: bool) -> str:
    """Render a Dockerfile with one COPY per component, from scratch."""
    copy = "COPY --link" if link else "COPY"
    lines = ["FROM scratch"]
    for component in manifest.components:
        destination = manifest.root.rstrip("/") + "/"
        if component.destination != ".":
            destination += component.destination + "/"
        lines.append(f"{copy} {component.source} {destination}")
    return "\n".join(lines) + "\n"


def dockerignore_text(manifest: Manifest) -> str:
    """Render ignore-file lines equal to the manifest's excludes.

    flense applies each exclude inside each component's directory, so every
    pattern is written once per component, prefixed with its source path.
    """
    lines: list[str] = []
    for component in manifest.components:
        for pattern in manifest.exclude:
            negated = pattern.startswith("!")
            body = pattern.removeprefix("!")
            if component.source != ".":
                body = f"{component.source}/{body}"
            lines.append(("!" if negated else "") + body)
    return "\n".join(lines) + "\n"


def buildx_context_bytes(progress: str) -> int | None:
    """Sum the final ``transferring context: N`` figure of every build step."""
    last_by_step: dict[str, int] = {}
    pattern = re.compile(r"^(#\d+) transferring context: " + _SIZE, re.MULTILINE)
    for match in pattern.finditer(progress):
        last_by_step[match.group(1)] = parse_size(match.group(2), match.group(3))
    return sum(last_by_step.values()) if last_by_step else None


def parse_size(number: str, unit: str) -> int:
    """Parse a decimal size as BuildKit prints it (``1.37MB``)."""
    return round(float(number) * _DECIMAL_UNITS[unit])


def image_layers(image: str) -> tuple[str, ...] | None:
    """Return the layer diff IDs of ``image``, or None if it does not exist."""
    result = run_command(
        [
            DOCKER,
            "image",
            "inspect",
            "--format",
            "{{range .RootFS.Layers}}{{.}} {{end}}",
            image,
        ]
    )
    if result.returncode != 0:
        return None
    return tuple(result.stdout.split())


@dataclass(frozen=True)
class FlenseOptions:
    """One flense contender: its name and the options it adds to the CLI."""

    name: str
    description: str
    options: tuple[str, ...]


class Flense(Contender):
    """``flense build MANIFEST --context DIR --tag NAME --progress plain``."""

    scenarios = (COMPILE, *BUILD_SCENARIOS)

    def __init__(
        self,
        executable: str,
        options: FlenseOptions,
        image_prefix: str = DEFAULT_IMAGE_PREFIX,
    ) -> None:
        self.executable = executable
        self.image_prefix = image_prefix
        self.name = options.name
        self.description = options.description
        self.options = options.options
        self._workdir: Path | None = None

    @property
    def image(self) -> str:
        return f"{self.image_prefix}/{self.name}:latest"

    def unavailable_reason(self, manifest: Manifest) -> str | None:
        if shutil.which(self.executable) is None:
            return f"{self.executable} not found"
        result = run_command([self.executable, "build", "--help"])
        if result.returncode != 0:
            return f"`flense build --help` failed: {result.stderr.strip()}"
        needed = ["--context", "--tag", "--progress"]
        needed += [option for option in self.options if option.startswith("--")]
        missing = [option for option in needed if option not in result.stdout]
        if missing:
            return f"flense build has no {', '.join(missing)} option yet"
        return None

    def prepare(self, manifest: Manifest, workdir: Path) -> None:
        self._workdir = workdir / self.name
        self._workdir.mkdir(parents=True, exist_ok=True)

    def run(self, manifest: Manifest, scenario: str) -> CommandResult:
        assert self._workdir is not None, "prepare() was not called"
        common = [str(manifest.path), "--context", str(manifest.context), *self.options]
        if scenario == COMPILE:
            return run_command(
                [self.executable, "compile", *common],
                stdout_path=self._workdir / "definition.pb",
            )
        argv = [self.executable, "build", *common, "--tag", self.image]
        return run_command([*argv, "--progress", "plain"])

    def measure(self, result: CommandResult, scenario: str) -> Measurement:
        if scenario == COMPILE:
            return Measurement(result.seconds, None, result.max_rss_kib)
        return Measurement(
            seconds=result.seconds,
            bytes_transferred=flense_transferred_bytes(result.stdout + result.stderr),
            max_rss_kib=result.max_rss_kib,
            layers=image_layers(self.image),
        )


def flense_transferred_bytes(progress: str) -> int | None:
    """Read ``N transferred`` from flense's plain progress summary line."""
    matches = re.findall(_SIZE + r" transferred", progress)
    if not matches:
        return None
    number, unit = matches[-1]
    return parse_size(number, unit)
