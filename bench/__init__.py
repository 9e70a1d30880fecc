"""Benchmarks: programs that print a table and write JSON (`python -m bench.NAME --json PATH`)."""
