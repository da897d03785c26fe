"""Benchmarks: `make bench` (issue: benchmarks). Commands, not tests."""
