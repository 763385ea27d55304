"""Zero-shot liquid state machine on RRAM (random reservoir from device switching)."""
