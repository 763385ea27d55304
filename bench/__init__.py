"""Benchmarks that produce JSON + Markdown (``python -m bench.compare``)."""
