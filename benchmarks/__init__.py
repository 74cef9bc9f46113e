"""Benchmarks: tapegrad against its peers in one run (`python -m benchmarks.<name>`); never timed tests."""
