"""Benchmarks run by `make bench`; each module named *_bench.py has a main()."""
