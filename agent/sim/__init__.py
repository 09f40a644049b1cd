"""Device simulators that speak the real protocols (used by the tests, the demo and the benchmarks)."""
