"""HD-SNN: a motion-direction detector with heterogeneous synaptic delays.

See README.md. :mod:`models.hdsnn.events` makes event streams from natural images,
``python -m snnc.models.hdsnn.train`` trains the kernel (torch) and exports ``hdsnn.snn``.
"""
