"""Benchmarks (`make bench`): speed as a ratio against named peers measured in the same run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
