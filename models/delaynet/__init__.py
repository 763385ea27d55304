"""DelayNet: a feedforward SNN with learned per-synapse delays (DCLS) on JapaneseVowels.

See README.md. ``python -m snnc.models.delaynet.train`` trains (torch, CPU, seeded) and writes
``delaynet.snn``; :mod:`models.delaynet.data` prepares the input the graph expects.
"""
