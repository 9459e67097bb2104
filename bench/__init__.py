"""Benchmarks: `make bench` (python -m bench.run) -> bench/results.json and a printed table."""
