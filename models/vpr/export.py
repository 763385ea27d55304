"""Express a trained ensemble in the snnc IR, and run it in the reference simulator.

Graph (one block per module ``k``; all modules see the same input)::

    input (Input, real, [D])          D = 28*28 patch-normalized, L2-normalized pixels
      -> m{k}_fc   Affine [N_k, D]    W_k * gain, bias -gain*offset (constant current)
      -> m{k}_pop  IF (N_k)           v[t] = v[t-1] + x[t]; spike above 1, subtract reset
      -> m{k}_inh  Linear [N_k, N_k]  -inhibition off the diagonal, 0 on it; recurrent
                                      back into m{k}_pop, so it reads spikes of t-1
      -> m{k}_map  Linear [P, N_k]    1 where neuron j is assigned place i (merge)
    sum over k -> places (MembraneArgmax, reduce 'sum', [P]) -> output (Output, [P])

The query frame is held as a constant input current for ``steps`` steps ("encoding
free"; the VPRSNN paper shows Poisson spikes for 350 ms instead). Lateral inhibition
makes each module a winner-take-all: the neuron with the largest drive fires first and
silences the others. **Merge**: every module's spikes are routed through its assignment
matrix into one place-score vector, so ``places[i]`` counts, over all steps, the spikes of
all neurons (of any module) assigned to place i; the decision is the argmax of that
count at the last step (ties -> lowest place index), i.e. ``compiler.ir.predict``. With
one winner per module this is "the most active winning neuron across the ensemble names
the place".

Metadata (read by :func:`compiler.passes.hyperactive.remove_hyperactive`)::

    metadata["ensemble"] = {
        "n_places": P, "readout": "places", "merge": "sum",
        "modules": [{"population": "m0_pop", "places": [0, ..., 24]}, ...]}

The per-neuron place assignment lives in the ``m{k}_map`` layers (column j of
``m{k}_map`` is one-hot on neuron j's place), so passes that remove neurons keep it
consistent by removing columns; :func:`assignments` reads it back.
    metadata["vpr"] = {"image_size": [28, 28], "patch_size": 7, "steps": T, ...}
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

import numpy as np

from compiler.errors import SnncError
from compiler.ir import IF, Affine, Graph, Input, Linear, MembraneArgmax, Output, verify
from compiler.ir.interpret import simulate
from models.vpr.data import IMAGE_SIZE, PATCH_SIZE, encode
from models.vpr.model import Module


@dataclass(frozen=True)
class DeployConfig:
    """How the trained prototypes become spiking dynamics."""

    steps: int = 32
    gain: float = 1.0  # drive per step (threshold units) per unit of cosine similarity
    offset: float = 0.0  # cosine similarity below which a neuron gets no net drive
    inhibition: float = 2.0  # lateral inhibition weight (threshold units)


def build_graph(modules: list[Module], n_places: int, cfg: DeployConfig = DeployConfig(),
                name: str = "vpr_ensemble", extra_meta: dict | None = None) -> Graph:
    """The deployed ensemble as an IR graph (see the module docstring)."""
    d = int(modules[0].weight.shape[1])
    nodes: dict = {"input": Input((d,))}
    edges: list[tuple[str, str]] = []
    meta_mods = []
    for k, m in enumerate(modules):
        n = int(m.weight.shape[0])
        p = f"m{k}"
        # float32 weights halve the committed file; the simulator computes in float64.
        nodes[f"{p}_fc"] = Affine((m.weight * cfg.gain).astype(np.float32),
                                  np.full(n, -cfg.gain * cfg.offset))
        nodes[f"{p}_pop"] = IF((n,), r=np.array(1.0), v_threshold=np.array(1.0))
        inh = -cfg.inhibition * (1.0 - np.eye(n))
        nodes[f"{p}_inh"] = Linear(inh)
        assign = np.zeros((n_places, n))
        assign[m.assignment, np.arange(n)] = 1.0
        nodes[f"{p}_map"] = Linear(assign)
        edges += [("input", f"{p}_fc"), (f"{p}_fc", f"{p}_pop"), (f"{p}_pop", f"{p}_map"),
                  (f"{p}_pop", f"{p}_inh"), (f"{p}_inh", f"{p}_pop"), (f"{p}_map", "places")]
        meta_mods.append({"population": f"{p}_pop", "places": [int(i) for i in m.places]})
    nodes["places"] = MembraneArgmax((n_places,), reduce="sum")
    nodes["output"] = Output((n_places,))
    edges.append(("places", "output"))
    meta = {
        "ensemble": {"n_places": int(n_places), "readout": "places", "merge": "sum",
                     "modules": meta_mods},
        "vpr": {"image_size": list(IMAGE_SIZE), "patch_size": PATCH_SIZE,
                "input": "patch-normalized, L2-normalized pixels as constant current",
                **asdict(cfg)},
    }
    meta["vpr"].update(extra_meta or {})
    return verify(Graph(nodes=nodes, edges=tuple(edges), dt=1e-3, name=name, metadata=meta))


def assignments(graph: Graph) -> dict[str, np.ndarray]:
    """Place index of every neuron, per module population, read from its map layer."""
    out = {}
    for m in graph.metadata["ensemble"]["modules"]:
        pop = m["population"]
        maps = [s for s in graph.successors(pop) if s.endswith("_map")]
        out[pop] = np.argmax(np.asarray(graph.nodes[maps[0]].weight), axis=0)
    return out


def steps_of(graph: Graph) -> int:
    """Number of steps a query is presented for (from the graph's metadata)."""
    try:
        return int(graph.metadata["vpr"]["steps"])
    except (KeyError, TypeError, ValueError):
        raise SnncError(f"graph '{graph.name}' has no metadata['vpr']['steps']; "
                        "is it a VPR ensemble?") from None


def as_current(x: np.ndarray, steps: int) -> np.ndarray:
    """``[B, D]`` encoded frames held constant for ``steps`` steps: ``[B, T, D]`` (a view)."""
    return np.broadcast_to(x[:, None, :], (x.shape[0], steps, x.shape[1]))


def place_scores(graph: Graph, frames: np.ndarray, batch_size: int = 64,
                 progress: bool = False) -> np.ndarray:
    """Per-place spike counts ``[B, P]`` of the ensemble on ``uint8 [B, 28, 28]`` frames,
    from the reference simulator."""
    meta = graph.metadata.get("vpr", {})
    size = tuple(meta.get("image_size", IMAGE_SIZE))
    x = encode(frames, size, int(meta.get("patch_size", PATCH_SIZE)))
    t = steps_of(graph)
    out = []
    for s in range(0, len(x), batch_size):
        res = simulate(graph, as_current(x[s:s + batch_size], t), check=(s == 0))
        out.append(res.outputs["output"][:, -1])
        if progress:
            print(f"vpr: simulated {min(s + batch_size, len(x))}/{len(x)} queries",
                  file=sys.stderr)
    return np.concatenate(out)


def predict_places(graph: Graph, frames: np.ndarray, batch_size: int = 64,
                   progress: bool = False) -> np.ndarray:
    """Place decision per query frame: argmax of the simulated place counts."""
    return np.argmax(place_scores(graph, frames, batch_size, progress), axis=1)


def recall_at_1(pred: np.ndarray, truth: np.ndarray, tolerance: int) -> float:
    """Fraction of queries whose top match is within ``tolerance`` frames of the truth."""
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(truth)) <= tolerance))


def sad_predict(reference: np.ndarray, queries: np.ndarray, patch: int = PATCH_SIZE) -> np.ndarray:
    """Sum-of-absolute-differences baseline on patch-normalized frames: best reference."""
    from models.vpr.data import patch_normalize

    r = patch_normalize(reference, patch).reshape(len(reference), -1)
    q = patch_normalize(queries, patch).reshape(len(queries), -1)
    return np.array([int(np.argmin(np.abs(r - qi).sum(1))) for qi in q])
