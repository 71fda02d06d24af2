"""fp.benchmarks."""
