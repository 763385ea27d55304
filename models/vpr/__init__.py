"""Visual place recognition: ensembles of compact, region-specific SNN modules (see README.md)."""
