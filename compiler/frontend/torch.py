"""Direct capture of live snnTorch and Norse models: ``from_snntorch``, ``from_norse``.

The frameworks' own NIR exporters fail on common models (docs/nir.md lists how:
snnTorch's type inference on every MLP, 0-d parameters that ``nir.write`` cannot store,
None for MaxPool2d; Norse's dt*tau, recurrent cells). Capture reads the modules
themselves, in the order an ``nn.Sequential`` (or Norse ``SequentialState``) runs them,
runs ``sample`` through them to learn every shape, writes an in-memory NIR graph with
the exact parameters and the framework's conventions recorded, and imports it with
:func:`snnc.compiler.frontend.nir.import_nir` - so a captured model and an imported
file go through the same conventions and give the same IR.

This module imports torch and is an optional extra (``pip install snnc[frameworks]``);
the core compiler never imports it.
"""

from __future__ import annotations

import warnings
from typing import Any

import nir
import numpy as np

from snnc.compiler.errors import UnsupportedError
from snnc.compiler.frontend.nir import SNNTORCH_DT, import_nir
from snnc.compiler.ir.graph import Graph

__all__ = ["from_snntorch", "from_norse"]

CAPTURE_KEY = "snnc.capture"  # graph metadata: the framework a capture came from


def _np(t: Any) -> np.ndarray:
    import torch

    if isinstance(t, torch.Tensor):
        return t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=np.float64)


def _full(v: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A parameter broadcast to the population shape (per-channel (C,1,1) ones included)."""
    a = _np(v)
    return np.array(np.broadcast_to(a, shape), dtype=np.float64)


def _chain(net: Any) -> list[tuple[str, Any]]:
    """The modules of a (nested) Sequential, in execution order."""
    import torch

    if not isinstance(net, torch.nn.Sequential) and not type(net).__name__ == "SequentialState":
        raise UnsupportedError(
            f"capture reads an nn.Sequential (or Norse SequentialState), got "
            f"{type(net).__name__}; wrap the layers in nn.Sequential")
    out: list[tuple[str, Any]] = []
    for name, m in net.named_children():
        if isinstance(m, torch.nn.Sequential):
            out.extend((f"{name}.{k}", v) for k, v in _chain(m))
        else:
            out.append((str(name), m))
    return out


def _common(name: str, m: Any, shape: tuple[int, ...], spiking_in: bool
            ) -> tuple[list[tuple[str, Any]], tuple[int, ...]] | None:
    """Framework-neutral torch layers -> ([(name, NIR node)], output shape), else None."""
    import torch

    nn = torch.nn
    if isinstance(m, nn.Linear):
        w = _np(m.weight)
        node = (nir.Affine(weight=w, bias=_np(m.bias)) if m.bias is not None
                else nir.Linear(weight=w))
        return [(name, node)], (int(w.shape[0]),)
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        if isinstance(m.padding, str):
            raise UnsupportedError(f"layer '{name}': string padding '{m.padding}'; use ints")
        w = _np(m.weight)
        b = _np(m.bias) if m.bias is not None else np.zeros(w.shape[0])
        one = isinstance(m, nn.Conv1d)
        cls = nir.Conv1d if one else nir.Conv2d
        inp = int(shape[1]) if one else np.array(shape[1:])
        node = cls(input_shape=inp, weight=w, stride=m.stride, padding=m.padding,
                   dilation=m.dilation, groups=m.groups, bias=b)
        out = m(torch.zeros((1, *shape))).shape[1:]
        return [(name, node)], tuple(int(v) for v in out)
    if isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)) or type(m).__name__ in (
            "SumPool2d", "LPPool2d"):
        k = m.kernel_size
        st = m.stride if m.stride is not None else k
        pad = getattr(m, "padding", 0)
        if isinstance(m, nn.AvgPool2d) and (m.ceil_mode or not m.count_include_pad
                                            and _np(pad).any()):
            raise UnsupportedError(f"layer '{name}': AvgPool2d with ceil_mode or "
                                   "count_include_pad=False")
        if isinstance(m, nn.MaxPool2d) and (m.ceil_mode or _np(m.dilation).max() != 1):
            raise UnsupportedError(f"layer '{name}': MaxPool2d with ceil_mode/dilation")
        if type(m).__name__ == "LPPool2d" and float(m.norm_type) != 1.0:
            raise UnsupportedError(f"layer '{name}': LPPool2d with norm_type != 1")
        out = tuple(int(v) for v in nn.functional.avg_pool2d(
            torch.zeros((1, *shape)), k, st, pad).shape[1:])
        geom = dict(kernel_size=np.broadcast_to(_np(k), (2,)).astype(int),
                    stride=np.broadcast_to(_np(st), (2,)).astype(int),
                    padding=np.broadcast_to(_np(pad), (2,)).astype(int))
        if isinstance(m, nn.AvgPool2d):
            return [(name, nir.AvgPool2d(**geom))], out
        if isinstance(m, nn.MaxPool2d):
            # max over 0/1 spikes = "any spike": a sum pool then Threshold(0)
            if not spiking_in:
                raise UnsupportedError(f"layer '{name}': MaxPool2d over real values has "
                                       "no snnc equivalent (over spikes it has)")
            return [(name, nir.SumPool2d(**geom)),
                    (f"{name}.any", nir.Threshold(threshold=np.zeros(out)))], out
        return [(name, nir.SumPool2d(**geom))], out
    if isinstance(m, nn.Flatten):
        sd = m.start_dim - 1 if m.start_dim > 0 else m.start_dim  # drop the batch axis
        ed = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
        node = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=sd, end_dim=ed)
        out = tuple(int(v) for v in m(torch.zeros((1, *shape))).shape[1:])
        return [(name, node)], out
    if isinstance(m, (nn.Identity, nn.Dropout)):
        return [], shape
    return None


class _Chain:
    """Nodes and edges of a captured chain; ``tail`` is the node the next layer reads."""

    def __init__(self, shape_in: tuple[int, ...]) -> None:
        self.nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array(shape_in))}
        self.edges: list[tuple[str, str]] = []
        self.tail = "input"

    def add(self, new: list[tuple[str, Any]]) -> None:
        for n, node in new:
            self.nodes[n] = node
            self.edges.append((self.tail, n))
            self.tail = n

    def graph(self, shape_out: tuple[int, ...], fw: str) -> nir.NIRGraph:
        self.add([("output", nir.Output(output_type=np.array(shape_out)))])
        return nir.NIRGraph(nodes=self.nodes, edges=self.edges, metadata={CAPTURE_KEY: fw},
                            type_check=False)


def _still_spiking(m: Any, new: list[tuple[str, Any]], spiking: bool) -> bool:
    """Whether a layer's output is 0/1 spikes (reshapes keep it; MaxPool re-thresholds)."""
    import torch

    if new and isinstance(new[-1][1], nir.Threshold):
        return True
    return spiking and isinstance(m, (torch.nn.Flatten, torch.nn.Identity, torch.nn.Dropout))


def _sample_shape(sample: Any) -> tuple[int, ...]:
    """The per-step shape of ``sample`` ([batch, *shape] or [*shape] with batch 1)."""
    s = tuple(int(v) for v in np.shape(_np(sample)))
    if len(s) < 2:
        raise UnsupportedError(f"sample must be [batch, *shape] for one step, got {s}")
    return s[1:]


def _spike_input(graph: Graph, spike_input: bool) -> Graph:
    """Mark the Input as 0/1 spikes (event-camera data): backends then run the first
    layer event-driven instead of quantizing a real-valued input."""
    if not spike_input:
        return graph
    from snnc.compiler.ir.nodes import Input

    nodes = {k: (v.replace(dtype="spike") if isinstance(v, Input) else v)
             for k, v in graph.items()}
    return graph.replace(nodes=nodes)


def from_snntorch(net: Any, sample: Any, *, spike_input: bool = False) -> Graph:
    """Capture an snnTorch ``nn.Sequential`` (``init_hidden=True`` neurons) as an IR graph.

    ``sample``: one time step of input, ``[batch, *shape]``; ``spike_input``: the input
    is 0/1 events (e.g. a DVS), not real values. Supported: ``nn.Linear``,
    ``Conv1d/Conv2d``, ``AvgPool2d``, ``MaxPool2d`` (after spiking layers),
    ``Flatten``, ``Leaky``, ``Synaptic``, ``RLeaky``, ``RSynaptic``, with one
    ``reset_mechanism`` ('subtract' or 'zero') shared by all neurons and
    ``reset_delay=True`` (the default). Raises :class:`UnsupportedError` naming the
    layer for anything else. Simulates like snnTorch (tests/compiler/frontend).
    """
    import snntorch as snn

    dt = SNNTORCH_DT
    shape = _sample_shape(sample)
    chain = _Chain(shape)
    resets: set[str] = set()
    spiking = False
    for name, m in _chain(net):
        got = _common(name, m, shape, spiking)
        if got is not None:
            new, shape = got
            chain.add(new)
            spiking = _still_spiking(m, new, spiking)
            continue
        if not isinstance(m, (snn.Leaky, snn.Synaptic, snn.RLeaky, snn.RSynaptic)):
            raise UnsupportedError(f"layer '{name}': {type(m).__name__} is not supported by "
                                   "from_snntorch")
        for attr, ok in (("inhibition", False), ("state_quant", False), ("reset_delay", True)):
            if bool(getattr(m, attr, ok)) != ok:
                raise UnsupportedError(f"layer '{name}': {attr}={getattr(m, attr)} is not "
                                       "supported")
        if float(_np(getattr(m, "graded_spikes_factor", 1.0))) != 1.0:
            raise UnsupportedError(f"layer '{name}': graded spikes are not supported")
        mech = m.reset_mechanism
        if mech not in ("subtract", "zero"):
            raise UnsupportedError(f"layer '{name}': reset_mechanism '{mech}'")
        resets.add(mech)
        beta = _full(m.beta.clamp(0, 1), shape)
        thr = _full(m.threshold, shape)
        tau = dt / (1.0 - beta)
        common = dict(r=tau / dt, v_leak=np.zeros(shape), v_threshold=thr,
                      v_reset=np.zeros(shape))
        if isinstance(m, (snn.Synaptic, snn.RSynaptic)):
            alpha = _full(m.alpha.clamp(0, 1), shape)
            tau_syn = dt / (1.0 - alpha)
            neuron = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau, w_in=tau_syn / dt, **common)
        else:
            neuron = nir.LIF(tau=tau, **common)
        chain.add([(name, neuron)])
        if isinstance(m, (snn.RLeaky, snn.RSynaptic)):
            if len(shape) != 1:
                raise UnsupportedError(f"layer '{name}': recurrent conv layers")
            rec = m.recurrent
            if getattr(m, "all_to_all", True):
                w = _np(rec.weight)
                b = _np(rec.bias) if getattr(rec, "bias", None) is not None else None
                wr = nir.Affine(weight=w, bias=b) if b is not None else nir.Linear(weight=w)
            else:
                wr = nir.Linear(weight=np.diag(_full(rec.V, shape)))
            chain.nodes[f"{name}.rec"] = wr
            chain.edges += [(name, f"{name}.rec"), (f"{name}.rec", name)]
        spiking = True
    if len(resets) > 1:
        raise UnsupportedError("from_snntorch: layers mix reset mechanisms "
                               f"{sorted(resets)}; snnc imports one per model")
    g = chain.graph(shape, "snntorch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = import_nir(g, framework="snntorch", reset=(resets or {"zero"}).pop())
    return _spike_input(graph, spike_input)


def from_norse(net: Any, sample: Any, dt: float = 1e-3, *,
               spike_input: bool = False) -> Graph:
    """Capture a Norse ``SequentialState`` / ``nn.Sequential`` as an IR graph.

    ``sample``: one time step of input, ``[batch, *shape]``; ``dt``: the step the cells
    run with (Norse's default 1e-3 s); ``spike_input`` as in :func:`from_snntorch`.
    Supported: ``nn.Linear``, ``Conv1d/Conv2d``,
    pools, ``Flatten``, ``LIFCell`` (CubaLIF), ``LIFBoxCell`` (LIF), ``LIBoxCell``
    (LI), ``IAFCell`` (IF) with Heaviside spikes and reset to ``v_reset``. Raises
    :class:`UnsupportedError` naming the layer for anything else (recurrent cells).
    """
    from norse.torch.module import iaf, leaky_integrator_box, lif, lif_box

    shape = _sample_shape(sample)
    chain = _Chain(shape)
    spiking = False
    for name, m in _chain(net):
        got = _common(name, m, shape, spiking)
        if got is not None:
            new, shape = got
            chain.add(new)
            spiking = _still_spiking(m, new, spiking)
            continue
        p = getattr(m, "p", None)
        if isinstance(m, (lif.LIFCell, lif_box.LIFBoxCell, iaf.IAFCell)):
            rm = getattr(p, "reset_method", None)
            if rm is not None and getattr(rm, "__name__", "") not in ("reset_value", ""):
                raise UnsupportedError(f"layer '{name}': reset_method {rm.__name__}")
        if isinstance(m, lif.LIFCell):
            node = nir.CubaLIF(tau_syn=_full(1.0 / p.tau_syn_inv, shape),
                               tau_mem=_full(1.0 / p.tau_mem_inv, shape), r=np.ones(shape),
                               v_leak=_full(p.v_leak, shape), v_threshold=_full(p.v_th, shape),
                               v_reset=_full(p.v_reset, shape), w_in=np.ones(shape))
        elif isinstance(m, lif_box.LIFBoxCell):
            node = nir.LIF(tau=_full(1.0 / p.tau_mem_inv, shape), r=np.ones(shape),
                           v_leak=_full(p.v_leak, shape), v_threshold=_full(p.v_th, shape),
                           v_reset=_full(p.v_reset, shape))
        elif isinstance(m, leaky_integrator_box.LIBoxCell):
            node = nir.LI(tau=_full(1.0 / p.tau_mem_inv, shape), r=np.ones(shape),
                          v_leak=_full(p.v_leak, shape))
        elif isinstance(m, iaf.IAFCell):
            node = nir.IF(r=np.ones(shape), v_threshold=_full(p.v_th, shape),
                          v_reset=_full(p.v_reset, shape))
        else:
            raise UnsupportedError(f"layer '{name}': {type(m).__name__} is not supported by "
                                   "from_norse")
        chain.add([(name, node)])
        spiking = not isinstance(m, leaky_integrator_box.LIBoxCell)
    g = chain.graph(shape, "norse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = import_nir(g, framework="norse", dt=dt, reset="zero")
    return _spike_input(graph, spike_input)
