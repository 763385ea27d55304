"""RRAM crossbar target: a simulated in-memory-computing chip.

- :mod:`targets.rram.device`: device/macro parameters with sources, presets
  (``neurram``, ``lsm``, ``ideal``);
- :mod:`targets.rram.crossbar`: weights -> G+/G- conductance tiles, programming, reads;
- :mod:`targets.rram.sim`: a graph on a programmed chip (the float or integer
  simulator's neuron rules, crossbar reads for synapses), chip save/load;
- :mod:`targets.rram.energy`: energy and latency per inference with a breakdown;
- :mod:`targets.rram.flow`: build directory, ``flash`` and ``bench``;
- :mod:`targets.rram.commands`: ``snnc flash/bench --device sim`` glue.
"""

from snnc.targets.rram.device import PRESETS, DeviceModel, get_device
from snnc.targets.rram.flow import bench, flash

__all__ = ["PRESETS", "DeviceModel", "bench", "flash", "get_device"]
