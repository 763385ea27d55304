"""Tiny hand-built example graphs (bundled so `snnc inspect` has something to show)."""
