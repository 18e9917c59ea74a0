"""Run flense as ``python -m flense``."""

from flense.cli import main

main()
