"""The manifest: which component directories make up the image, and how each
is built.

``load_manifest`` reads and validates a manifest file. Every invalid value
raises flense.errors.UserInputError located at that value.
"""

from flense.manifest.load import load_manifest
from flense.manifest.model import Component, Manifest

__all__ = ["Component", "Manifest", "load_manifest"]
