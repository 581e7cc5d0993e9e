"""Benchmarks: ``python -m bench.search_bench`` measures memorial search at 100,000 memorials."""
