"""Benchmarks: run by hand (``python -m bench.load``), never collected as tests."""
