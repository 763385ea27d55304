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


def fit_space(graph: object, profile: str | None = None) -> object:
    """What ``snnc fit`` searches on this target: weight bits (or float conductances),
    pruning, conductance levels, ADC bits and tile rows; accuracy on the simulated chip,
    energy/latency from the energy model."""
    from snnc.targets.fit.space import Dimension, SearchSpace, c_target_dims

    dims = tuple(d for d in c_target_dims() if d.name in ("quantize", "prune", "prune_scope"))
    return SearchSpace("rram", (*dims, Dimension("levels", (4, 8, 16, 32), 16),
                                Dimension("adc_bits", (4, 6, 8), 8),
                                Dimension("tile_rows", (64, 128, 256), 256)),
                       costs=("energy", "latency", "tiles"), measure="rram_sim")


__all__ = ["PRESETS", "DeviceModel", "bench", "flash", "get_device"]
