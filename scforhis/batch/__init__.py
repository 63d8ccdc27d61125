"""Batch work on exports: input readers (JSON, JSON lines, CSV), reports, the upload journal,
the sender, and the `scforhis validate` / `scforhis upload` commands."""
