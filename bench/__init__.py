"""Benchmarks that produce JSON + Markdown (``python -m snnc.bench.compare``)."""
