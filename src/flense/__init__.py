"""flense: compose one container image from many components with BuildKit."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flense")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
