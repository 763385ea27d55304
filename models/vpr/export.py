"""Express a trained ensemble in the snnc IR, and run it in the reference simulator.

Graph (one block per module ``k``; all modules see the same input, and share nothing
else)::

    input (Input, real, [D])          D = 28*28 patch-normalized, L2-normalized pixels
      -> m{k}_fc     Affine [N_k, D]    W_k * gain, bias -gain*offset (constant current)
      -> m{k}_pop    IF (N_k)           v[t] = v[t-1] + x[t]; spike above 1, subtract reset
      -> m{k}_inh    Linear [N_k, N_k]  -inhibition off the diagonal, 0 on it; recurrent
                                        back into m{k}_pop, so it reads spikes of t-1
      -> m{k}_map    Linear [P_k, N_k]  1 where neuron j is assigned the region's place i
      -> m{k}_places MembraneArgmax (reduce 'sum', [P_k]) -> m{k}_out (Output, [P_k])

The query frame is held as a constant input current for ``steps`` steps ("encoding
free"; the VPRSNN paper shows Poisson spikes for 350 ms instead). Lateral inhibition
makes each module a winner-take-all: the neuron with the largest drive fires first and
silences the others.

**Merge**: module ``k`` scores only the ``P_k`` places of its own region (a neuron is
only ever assigned a place of its module's region): ``m{k}_out[i]`` counts, over all
steps, the spikes of the module's neurons assigned to its region's i-th place. The
regions are consecutive and the modules are in route order, so the Outputs concatenated
in graph order (what :func:`compiler.ir.predict` and the generated C code's output
vector do) are the place scores of the whole route, place 0 first; the decision is
their argmax at the last step (ties -> lowest place index): "the most active winning
neuron across the ensemble names the place". Every node is per module, so the work per
query is linear in the number of modules (a single place-score vector fed by every
module would need a ``[P, N_k]`` map per module, ``P x N`` in all).

Metadata (read by :func:`compiler.passes.hyperactive.remove_hyperactive`, and by
:func:`place_scores` to map each Output back to its places)::

    metadata["ensemble"] = {
        "n_places": P, "readout": "outputs", "merge": "concat",
        "modules": [{"population": "m0_pop", "output": "m0_out",
                     "places": [0, ..., 24]}, ...]}
    metadata["vpr"] = {"image_size": [28, 28], "patch_size": 7, "steps": T, ...}

Row i of ``m{k}_map`` (and entry i of ``m{k}_out``) is place ``places[i]`` of module k.
The per-neuron place assignment lives in the ``m{k}_map`` layers (column j is one-hot on
neuron j's place), so passes that remove neurons keep it consistent by removing columns;
:func:`assignments` reads it back.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import IF, Affine, Graph, Input, Linear, MembraneArgmax, Output, verify
from snnc.compiler.ir.interpret import simulate
from snnc.models.vpr.data import IMAGE_SIZE, PATCH_SIZE, encode
from snnc.models.vpr.model import Module


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
    covered = np.concatenate([np.asarray(m.places) for m in modules])
    if not np.array_equal(covered, np.arange(n_places)):
        # The concatenated Outputs are the route's place scores only if the regions
        # tile 0..P-1 in module order.
        raise SnncError(f"module regions must be consecutive and cover places 0..{n_places - 1}"
                        " in order")
    nodes: dict = {"input": Input((d,))}
    edges: list[tuple[str, str]] = []
    meta_mods = []
    for k, m in enumerate(modules):
        n = int(m.weight.shape[0])
        p = f"m{k}"
        places = np.asarray(m.places)
        local = np.searchsorted(places, m.assignment)
        if not np.array_equal(places[np.minimum(local, len(places) - 1)], m.assignment):
            raise SnncError(f"module {k}: a neuron is assigned a place outside its region")
        # float32 weights halve the committed file; the simulator computes in float64.
        nodes[f"{p}_fc"] = Affine((m.weight * cfg.gain).astype(np.float32),
                                  np.full(n, -cfg.gain * cfg.offset))
        nodes[f"{p}_pop"] = IF((n,), r=np.array(1.0), v_threshold=np.array(1.0))
        inh = -cfg.inhibition * (1.0 - np.eye(n))
        nodes[f"{p}_inh"] = Linear(inh)
        assign = np.zeros((len(places), n))
        assign[local, np.arange(n)] = 1.0
        nodes[f"{p}_map"] = Linear(assign)
        nodes[f"{p}_places"] = MembraneArgmax((len(places),), reduce="sum")
        nodes[f"{p}_out"] = Output((len(places),))
        edges += [("input", f"{p}_fc"), (f"{p}_fc", f"{p}_pop"), (f"{p}_pop", f"{p}_map"),
                  (f"{p}_pop", f"{p}_inh"), (f"{p}_inh", f"{p}_pop"),
                  (f"{p}_map", f"{p}_places"), (f"{p}_places", f"{p}_out")]
        meta_mods.append({"population": f"{p}_pop", "output": f"{p}_out",
                          "places": [int(i) for i in places]})
    meta = {
        "ensemble": {"n_places": int(n_places), "readout": "outputs", "merge": "concat",
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
        local = np.argmax(np.asarray(graph.nodes[maps[0]].weight), axis=0)
        out[pop] = np.asarray(m["places"])[local]
    return out


def module_nodes(graph: Graph, population: str) -> set[str]:
    """The nodes of the module of ``population``: its connected component once the
    graph's Input nodes (shared by every module) are taken out."""
    inputs = set(graph.inputs)
    seen, todo = {population}, [population]
    while todo:
        n = todo.pop()
        for a in graph.predecessors(n) + graph.successors(n):
            if a not in seen and a not in inputs:
                seen.add(a)
                todo.append(a)
    return seen


def modules_subgraph(graph: Graph, populations: list[str]) -> Graph:
    """``graph`` restricted to the inputs and the modules of ``populations``.

    Modules interact only through their final place scores, so each module's Output is
    the same in the subgraph as in the whole graph (same nodes, same inputs)."""
    keep = set(graph.inputs).union(*(module_nodes(graph, p) for p in populations))
    return graph.replace(nodes={k: v for k, v in graph.nodes.items() if k in keep},
                         edges=tuple(e for e in graph.edges if e[0] in keep and e[1] in keep))


def one_blas_thread() -> Any:
    """Context manager: NumPy's BLAS on one thread. The simulator's matrix products are
    small; with two BLAS threads, a core taken by another job stalls every product
    (measured here: ``predict_places`` on 99 queries took 4.1 s with two threads and
    0.34 s with one, while one other CPU-bound job ran on this 2-core machine)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


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


def encode_queries(graph: Graph, frames: np.ndarray) -> np.ndarray:
    """``uint8 [B, H, W]`` frames encoded as the graph's input expects: ``[B, D]``."""
    meta = graph.metadata.get("vpr", {})
    size = tuple(meta.get("image_size", IMAGE_SIZE))
    return encode(frames, size, int(meta.get("patch_size", PATCH_SIZE)))


def module_scores(graph: Graph, x: np.ndarray, populations: list[str] | None = None,
                  batch_size: int = 64, progress: bool = False) -> dict[str, np.ndarray]:
    """Last-step place scores ``[B, P_k]`` of each module (all, or those of
    ``populations``) on encoded queries ``x [B, D]``, from the reference simulator; only
    the requested modules are simulated (see :func:`modules_subgraph`)."""
    mods = graph.metadata["ensemble"]["modules"]
    if populations is not None:
        mods = [m for m in mods if m["population"] in set(populations)]
        graph = modules_subgraph(graph, [m["population"] for m in mods])
    t = steps_of(graph)
    out: dict[str, list[np.ndarray]] = {m["population"]: [] for m in mods}
    with one_blas_thread():
        for s in range(0, len(x), batch_size):
            res = simulate(graph, as_current(x[s:s + batch_size], t), check=(s == 0))
            for m in mods:
                out[m["population"]].append(res.outputs[m["output"]][:, -1])
            if progress:
                print(f"vpr: simulated {min(s + batch_size, len(x))}/{len(x)} queries",
                      file=sys.stderr)
    return {k: np.concatenate(v) for k, v in out.items()}


def merge_scores(graph: Graph, scores: dict[str, np.ndarray]) -> np.ndarray:
    """Route place scores ``[B, P]`` from per-module scores (``metadata["ensemble"]``
    says which places each module's Output covers)."""
    ens = graph.metadata["ensemble"]
    b = len(next(iter(scores.values())))
    out = np.zeros((b, int(ens["n_places"])))
    for m in ens["modules"]:
        out[:, m["places"]] += scores[m["population"]]
    return out


def pruned_module_scores(pruned: Graph, x: np.ndarray, base: dict[str, np.ndarray],
                         batch_size: int = 64) -> dict[str, np.ndarray]:
    """Per-module scores of ``pruned`` (the output of the hyperactive pass on the graph
    whose module scores on ``x`` are ``base``): only the modules that lost neurons are
    simulated again; every other module is unchanged, and so is its score."""
    changed = list(pruned.metadata.get("hyperactive", {}).get("removed", {}))
    kept = {m["population"] for m in pruned.metadata["ensemble"]["modules"]}
    scores = {k: v for k, v in base.items() if k in kept}
    if changed:
        scores.update(module_scores(pruned, x, changed, batch_size))
    return scores


def place_scores(graph: Graph, frames: np.ndarray, batch_size: int = 64,
                 progress: bool = False) -> np.ndarray:
    """Per-place spike counts ``[B, P]`` of the ensemble on ``uint8 [B, 28, 28]`` frames,
    from the reference simulator."""
    x = encode_queries(graph, frames)
    return merge_scores(graph, module_scores(graph, x, None, batch_size, progress))


def predict_places(graph: Graph, frames: np.ndarray, batch_size: int = 64,
                   progress: bool = False) -> np.ndarray:
    """Place decision per query frame: argmax of the simulated place counts."""
    return np.argmax(place_scores(graph, frames, batch_size, progress), axis=1)


def recall_at_1(pred: np.ndarray, truth: np.ndarray, tolerance: int) -> float:
    """Fraction of queries whose top match is within ``tolerance`` frames of the truth."""
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(truth)) <= tolerance))


def sad_predict(reference: np.ndarray, queries: np.ndarray, patch: int = PATCH_SIZE) -> np.ndarray:
    """Sum-of-absolute-differences baseline on patch-normalized frames: best reference."""
    from snnc.models.vpr.data import patch_normalize

    r = patch_normalize(reference, patch).reshape(len(reference), -1)
    q = patch_normalize(queries, patch).reshape(len(queries), -1)
    return np.array([int(np.argmin(np.abs(r - qi).sum(1))) for qi in q])
