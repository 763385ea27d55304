"""Energy and latency estimate per inference, with a breakdown, from counted events.

Every figure comes from the :class:`~targets.rram.device.DeviceModel` (whose docstring
gives each source: DESIGN.md §5 for the cell read ``V^2 G t`` and the ADC energy,
Horowitz ISSCC 2014 for digital adds, labelled assumptions for the rest). The events
come from a chip run (:class:`~targets.rram.sim.Activity`), so the estimate scales with
the spikes actually processed (event-driven: a row tile with no spike is not read).

Energy categories (pJ per inference):

- ``cell_reads``: sum over read cells of ``(x v_read)^2 G t_read`` (both cells of a pair);
- ``adc``: conversions x ``adc_pj`` (one per output and active row tile);
- ``digital_neurons``: neuron updates x ``neuron_pj`` (every neuron, every step);
- ``digital_adds``: tile partial sums and biases x ``add_pj``;
- ``digital_synapses``: synaptic events of layers kept digital (e.g. a readout) x
  (``add_pj`` + an 8-bit weight fetch at ``move_pj_per_bit``);
- ``data_movement``: bits moved x ``move_pj_per_bit``: spike addresses to the arrays and
  ``adc_bits`` per conversion to the digital neurons.

Latency per inference (seconds): layers run one after another within a step, the tiles of
a layer in parallel. A crossbar layer that reads anything costs ``t_read + cols_per_adc x
t_adc`` (each ADC converts its columns in turn); a neuron population costs
``ceil(n / neuron_lanes) x t_neuron``; digital synapse events are spread over the lanes
too. It is an analytical estimate, not a measurement.
"""

from __future__ import annotations

from typing import Any

from snnc.targets.rram.device import DeviceModel
from snnc.targets.rram.sim import Activity

CATEGORIES = ("cell_reads", "adc", "digital_neurons", "digital_adds", "digital_synapses",
              "data_movement")


def estimate(act: Activity, dev: DeviceModel, dense_macs: float | None = None) -> dict[str, Any]:
    """Energy (pJ) and latency (s) per inference with their breakdowns.

    ``dense_macs``: crossbar MACs per inference if every input were active, to express the
    array energy per MAC (comparable with the 10-170 fJ/MAC of published macros).
    """
    n = max(act.samples, 1)
    r = act.reads
    e = {
        # uS * V^2 * s = 1e-6 J -> 1e6 pJ per (uS V^2 s)
        "cell_reads": r.cell_g_us * 1e-6 * dev.v_read ** 2 * dev.t_read_s * 1e12,
        "adc": r.adc_conversions * dev.adc_pj,
        "digital_neurons": act.neuron_updates * dev.neuron_pj,
        "digital_adds": (r.partial_adds + act.bias_adds) * dev.add_pj,
        "digital_synapses": act.digital_synops * (dev.add_pj + 8 * dev.move_pj_per_bit),
        "data_movement": (r.spike_bits + r.adc_conversions * dev.adc_bits)
        * dev.move_pj_per_bit,
    }
    per = {k: v / n for k, v in e.items()}
    total = sum(per.values())
    t_xbar = dev.t_read_s + dev.cols_per_adc * dev.t_adc_s
    lat = {
        "crossbar_reads": r.layer_steps_active * t_xbar / n,
        "digital_neurons": act.neuron_serial_cycles * dev.t_neuron_s / n,
        "digital_synapses": act.digital_synops / dev.neuron_lanes * dev.t_neuron_s / n,
    }
    out: dict[str, Any] = {
        "energy_pj": {"total": total, "breakdown": per,
                      "fraction": {k: (v / total if total else 0.0) for k, v in per.items()}},
        "latency_s": {"total": sum(lat.values()), "breakdown": lat,
                      "per_step": sum(lat.values()) / max(act.steps, 1)},
        "events_per_inference": {
            "row_activations": r.row_activations / n, "adc_conversions": r.adc_conversions / n,
            "tile_reads": r.tile_reads / n, "neuron_updates": act.neuron_updates / n,
            "digital_synops": act.digital_synops / n},
        "model": "analytical estimate from DeviceModel figures (DESIGN.md §5 + labelled "
                 "assumptions); not a measurement",
    }
    if dense_macs:
        array = per["cell_reads"] + per["adc"] + per["digital_adds"]
        out["array_fj_per_dense_mac"] = array * 1e3 / dense_macs
    return out
