"""snnTorch / Norse models run by the frameworks themselves vs. snnc's float simulator.

Each case builds a small random-weight network in the framework, runs the framework's
own simulation on random input spikes, gets the model into snnc (the framework's own
NIR exporter, written to a .nir file and read back, where it works; direct capture
with :mod:`snnc.compiler.frontend.torch` always) and compares the output spike trains.

Agreement = 1 - (mismatched output entries) / (entries where either side spiked): a
silent network cannot score well. Used by test_frameworks.py and, as a script, to
print the table in docs/nir.md::

    .venv/bin/python -m tests.compiler.frontend.frameworks      # from the repo root
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

B, T = 3, 80


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """1 - mismatches / entries where either spiked (1.0 if neither ever spiked)."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    either = int(np.count_nonzero(a | b))
    return 1.0 - int(np.count_nonzero(a != b)) / either if either else 1.0


def spikes(shape: tuple[int, ...], p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float32)


def _atleast_1d(g: Any) -> Any:
    """Exporter workaround: 0-d parameters (scalar beta/threshold, torch tensors, NumPy
    scalars) -> float arrays of shape (1,), which ``nir.write`` can store; snnc
    broadcasts them (issue 17)."""
    import nir
    import torch

    for name, node in g.nodes.items():
        if node is None:
            raise TypeError(f"the exporter wrote None for node '{name}' (a layer it "
                            "does not know)")
        if isinstance(node, nir.NIRGraph):
            _atleast_1d(node)
            continue
        for k, v in list(vars(node).items()):
            if k in ("input_type", "output_type", "metadata"):
                continue
            if isinstance(v, torch.Tensor):
                v = v.detach().numpy()
            if isinstance(v, (float, np.floating)) or (
                    isinstance(v, np.ndarray) and v.dtype.kind == "f"):
                setattr(node, k, np.atleast_1d(np.asarray(v, dtype=np.float64)))
    return g


def _through_file(g: Any, **kw: Any) -> Any:
    """Write the exporter's graph with ``nir.write`` and import the file."""
    import nir

    from snnc.compiler.frontend.nir import import_nir

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "model.nir"
        nir.write(str(p), g)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return import_nir(p, **kw)


def _snnc_out(graph: Any, x: np.ndarray) -> np.ndarray:
    from snnc.compiler.ir.interpret import simulate

    shp = tuple(graph.nodes[graph.inputs[0]].shape)
    out = simulate(graph, x.astype(np.float64).reshape(x.shape[:2] + shp)).output
    return out.reshape(out.shape[0], out.shape[1], -1)


# ---------------------------------------------------------------- snnTorch

def snntorch_cases() -> dict[str, Callable[[], tuple[Any, np.ndarray, dict[str, Any]]]]:
    """name -> builder returning (net, input [B, T, ...], import options)."""
    import snntorch as snn
    import torch

    nn = torch.nn

    def lin(i: int, o: int, gain: float, bias: bool = True) -> nn.Linear:
        m = nn.Linear(i, o, bias=bias)
        with torch.no_grad():
            m.weight.mul_(gain)
        return m

    def leaky(mech: str) -> Callable:
        def build() -> tuple:
            torch.manual_seed(0)
            net = nn.Sequential(lin(20, 32, 2.0), snn.Leaky(beta=0.9, init_hidden=True,
                                                            reset_mechanism=mech),
                                # per-neuron beta; a per-neuron threshold too, since
                                # snnTorch's exporter fails on a scalar one beside it
                                lin(32, 8, 2.0), snn.Leaky(beta=torch.full((8,), 0.8),
                                                           threshold=torch.ones(8),
                                                           init_hidden=True,
                                                           reset_mechanism=mech))
            return net, spikes((B, T, 20), 0.3, 1), {"reset": mech}
        return build

    def synaptic(mech: str) -> Callable:
        def build() -> tuple:
            torch.manual_seed(1)
            net = nn.Sequential(lin(20, 32, 1.0), snn.Synaptic(alpha=0.7, beta=0.85,
                                                               init_hidden=True,
                                                               reset_mechanism=mech),
                                lin(32, 8, 1.0), snn.Synaptic(alpha=0.6, beta=0.9,
                                                              init_hidden=True,
                                                              reset_mechanism=mech))
            return net, spikes((B, T, 20), 0.3, 2), {"reset": mech}
        return build

    def rleaky() -> tuple:
        torch.manual_seed(2)
        net = nn.Sequential(lin(20, 24, 2.0), snn.RLeaky(beta=0.9, linear_features=24,
                                                         init_hidden=True),
                            lin(24, 8, 2.0), snn.Leaky(beta=0.85, init_hidden=True))
        return net, spikes((B, T, 20), 0.3, 3), {"reset": "subtract"}

    def rsynaptic() -> tuple:
        torch.manual_seed(3)
        net = nn.Sequential(lin(20, 24, 1.0), snn.RSynaptic(alpha=0.7, beta=0.9,
                                                            linear_features=24,
                                                            init_hidden=True),
                            lin(24, 8, 1.0), snn.Synaptic(alpha=0.6, beta=0.85,
                                                          init_hidden=True))
        return net, spikes((B, T, 20), 0.3, 4), {"reset": "subtract"}

    def conv(pool: str) -> Callable:
        def build() -> tuple:
            torch.manual_seed(4)
            p = nn.AvgPool2d(2) if pool == "avg" else nn.MaxPool2d(2)
            c = nn.Conv2d(2, 4, 3, padding=1)
            with torch.no_grad():
                c.weight.mul_(3.0)
            net = nn.Sequential(c, snn.Leaky(beta=0.9, init_hidden=True), p, nn.Flatten(),
                                lin(4 * 6 * 6, 10, 2.0), snn.Leaky(beta=0.9, init_hidden=True))
            return net, spikes((B, T, 2, 12, 12), 0.3, 5), {"reset": "subtract"}
        return build

    return {"Leaky (zero reset)": leaky("zero"), "Leaky (subtract reset)": leaky("subtract"),
            "Synaptic (subtract reset)": synaptic("subtract"),
            "Synaptic (zero reset)": synaptic("zero"), "RLeaky": rleaky,
            "RSynaptic": rsynaptic, "Conv+AvgPool+Flatten": conv("avg"),
            "Conv+MaxPool+Flatten": conv("max")}


def snntorch_run(net: Any, x: np.ndarray) -> np.ndarray:
    """snnTorch's own simulation: the last layer's spikes, [B, T, N]."""
    import torch
    from snntorch import utils

    utils.reset(net)
    out = []
    with torch.no_grad():
        for t in range(x.shape[1]):
            y = net(torch.from_numpy(x[:, t]))
            y = y[0] if isinstance(y, tuple) else y
            out.append(y.reshape(y.shape[0], -1).numpy())
    utils.reset(net)
    return np.stack(out, axis=1)


def snntorch_export(net: Any, x: np.ndarray, opts: dict[str, Any]) -> Any:
    """snnTorch's own exporter, with the workaround that works (see docs/nir.md):
    ``export_to_nir`` fails its type check on every MLP, so the graph is extracted with
    ``nirtorch`` directly (what export_to_nir does, minus the check), and 0-d
    parameters become (1,) so that ``nir.write`` can store them."""
    import nirtorch
    import snntorch as snn
    import torch
    from snntorch.export_nir import _extract_snntorch_module

    g = nirtorch.extract_nir_graph(net, _extract_snntorch_module, torch.from_numpy(x[:1, 0]),
                                   model_name="snntorch",
                                   ignore_submodules_of=[snn.RLeaky, snn.RSynaptic])
    return _through_file(_atleast_1d(g), **opts)


# ---------------------------------------------------------------- Norse

def norse_cases() -> dict[str, Callable[[], tuple[Any, np.ndarray, dict[str, Any]]]]:
    import torch
    from norse.torch import (
        IAFCell,
        LIBoxCell,
        LIFBoxCell,
        LIFBoxParameters,
        LIFCell,
        LIFParameters,
        SequentialState,
    )

    nn = torch.nn

    def lin(i: int, o: int, gain: float, bias: bool = False) -> nn.Linear:
        m = nn.Linear(i, o, bias=bias)
        with torch.no_grad():
            m.weight.mul_(gain)
        return m

    def cuba() -> tuple:
        torch.manual_seed(10)
        net = SequentialState(lin(20, 32, 4.0, True), LIFCell(), lin(32, 8, 4.0),
                              LIFCell(LIFParameters(tau_mem_inv=torch.as_tensor(50.0))))
        return net, spikes((B, T, 20), 0.3, 11), {}

    def box() -> tuple:
        torch.manual_seed(11)
        net = SequentialState(lin(20, 32, 30.0), LIFBoxCell(), lin(32, 8, 30.0),
                              LIFBoxCell(LIFBoxParameters(v_leak=torch.as_tensor(0.1))))
        return net, spikes((B, T, 20), 0.3, 12), {}

    def iaf() -> tuple:
        torch.manual_seed(12)
        net = SequentialState(lin(20, 32, 1.0), IAFCell(), lin(32, 8, 1.0), IAFCell())
        return net, spikes((B, T, 20), 0.3, 13), {}

    def li() -> tuple:
        torch.manual_seed(13)
        net = SequentialState(lin(20, 32, 4.0), LIFCell(), lin(32, 5, 1.0), LIBoxCell())
        return net, spikes((B, T, 20), 0.3, 14), {}

    def conv() -> tuple:
        torch.manual_seed(14)
        c = nn.Conv2d(2, 4, 3, padding=1)
        with torch.no_grad():
            c.weight.mul_(6.0)
        net = SequentialState(c, LIFCell(), nn.AvgPool2d(2), nn.Flatten(),
                              lin(4 * 6 * 6, 10, 6.0), LIFCell())
        return net, spikes((B, T, 2, 12, 12), 0.3, 15), {}

    return {"LIFCell (CubaLIF)": cuba, "LIFBoxCell (LIF)": box, "IAFCell (IF)": iaf,
            "LIBoxCell readout (LI)": li, "Conv+AvgPool+Flatten": conv}


def norse_run(net: Any, x: np.ndarray) -> np.ndarray:
    import torch

    state, out = None, []
    with torch.no_grad():  # cells run one step per call, state threaded through
        for t in range(x.shape[1]):
            y, state = net(torch.from_numpy(x[:, t]), state)
            out.append(y.reshape(y.shape[0], -1).numpy())
    return np.stack(out, axis=1)


def norse_export(net: Any, x: np.ndarray, opts: dict[str, Any]) -> Any:
    """Norse's own ``to_nir`` (0-d parameters made (1,) so that nir.write stores them)."""
    import torch
    from norse.torch.utils.export_nir import to_nir

    g = to_nir(net, torch.from_numpy(x[:1, 0]))
    return _through_file(_atleast_1d(g), **opts)


# ---------------------------------------------------------------- driver

def compare(framework: str, case: str, path: str) -> dict[str, Any]:
    """Run one case: path 'export' (framework exporter -> .nir -> import_nir) or
    'capture' (from_snntorch / from_norse). Returns agreement and spike counts, or the
    failure."""
    from snnc.compiler.frontend import torch as capture

    cases = snntorch_cases() if framework == "snntorch" else norse_cases()
    run = snntorch_run if framework == "snntorch" else norse_run
    net, x, opts = cases[case]()
    ref = run(net, x)
    try:
        if path == "export":
            g = (snntorch_export if framework == "snntorch" else norse_export)(net, x, opts)
        elif framework == "snntorch":
            g = capture.from_snntorch(net, x[:1, 0])
        else:
            g = capture.from_norse(net, x[:1, 0])
    except Exception as e:  # a finding (exporter bug / unsupported), reported
        return {"error": " ".join(f"{type(e).__name__}: {e}".split())[:160]}
    out = _snnc_out(g, x)
    res: dict[str, Any] = {"ref_spikes": int(np.count_nonzero(ref)),
                           "snnc_spikes": int(np.count_nonzero(out))}
    if "LI" in case and "LIF" not in case.replace("LIFCell", ""):
        res["max_abs_err"] = float(np.max(np.abs(out - ref)))
        res["ref_max"] = float(np.max(np.abs(ref)))
    else:
        res["agreement"] = agreement(out, ref)
    return res


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nir"
# Fixtures whose graphs have only IF neurons (nothing to detect the framework from).
FIXTURE_OPTIONS = {"sinabs_iaf": {"framework": "sinabs"},
                   "sinabs_conv_sumpool": {"framework": "sinabs"}}


def fixture_result(name: str) -> dict[str, Any]:
    """A Sinabs/Rockpool fixture: the exporter's file imported, vs the framework's output."""
    from snnc.compiler.frontend.nir import import_nir

    d = np.load(FIXTURES / f"{name}.npz")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        g = import_nir(FIXTURES / f"{name}.nir", **FIXTURE_OPTIONS.get(name, {}))
    x, ref = d["x"].astype(np.float64), d["y"]
    out = _snnc_out(g, x)
    out = out.reshape(ref.shape)
    res: dict[str, Any] = {"framework": g.metadata.get("nir_framework"),
                           "warnings": [str(m.message) for m in w]}
    if name.endswith("_li") or name.endswith("_li_single"):
        res["max_abs_err"] = float(np.max(np.abs(out - ref)))
        res["ref_max"] = float(np.max(np.abs(ref)))
    else:
        res.update(agreement=agreement(out, ref), ref_spikes=float(ref.sum()),
                   snnc_spikes=float(out.sum()), max_per_step=float(ref.max()))
    return res


def main() -> None:
    print("| fixture | detected | agreement | framework spikes | snnc spikes | "
          "max framework spikes per neuron-step |")
    print("|---|---|---|---|---|---|")
    for f in sorted(FIXTURES.glob("*.nir")):
        r = fixture_result(f.stem)
        if "agreement" in r:
            print(f"| {f.stem} | {r['framework']} | {100 * r['agreement']:.2f}% | "
                  f"{r['ref_spikes']:.0f} | {r['snnc_spikes']:.0f} | {r['max_per_step']:.0f} |")
        else:
            print(f"| {f.stem} | {r['framework']} | max abs error {r['max_abs_err']:.2g} "
                  f"(output range {r['ref_max']:.3g}) | | | |")
    print()
    rows = []
    for fw, cases in (("snntorch", snntorch_cases), ("norse", norse_cases)):
        for case in cases():
            for path in ("export", "capture"):
                r = compare(fw, case, path)
                rows.append((fw, case, path, r))
                print(f"{fw:9s} {case:28s} {path:8s} {r}", file=sys.stderr)
    print("| framework | case | path | agreement | framework spikes | snnc spikes |")
    print("|---|---|---|---|---|---|")
    for fw, case, path, r in rows:
        if "error" in r:
            print(f"| {fw} | {case} | {path} | fails: {r['error']} | | |")
        elif "agreement" in r:
            print(f"| {fw} | {case} | {path} | {100 * r['agreement']:.2f}% | "
                  f"{r['ref_spikes']} | {r['snnc_spikes']} |")
        else:
            print(f"| {fw} | {case} | {path} | max abs error {r['max_abs_err']:.2g} "
                  f"(output range {r['ref_max']:.3g}) | | |")


if __name__ == "__main__":
    main()
