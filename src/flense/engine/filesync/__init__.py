"""File sync: sending local directories to BuildKit as fsutil packets."""
