"""Benchmarks: scripts that print figures (``python -m benchmarks.scale``), not timed tests."""
