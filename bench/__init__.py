"""Benchmarks: each module's `main()` prints its figures next to a baseline from the same run."""
