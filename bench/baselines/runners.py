"""One runner interface for every backend the benchmark compares.

A :class:`Runner` streams: ``reset(batch)`` sets the states to their t = 0 values,
``step({input: x[B, ...]})`` advances one time step and returns ``{output: y[B, ...]}``,
``run({input: x[B, T, ...]})`` loops ``step`` over a window. Backends:

- :class:`OnnxRuntimeRunner`: the ONNX step model in onnxruntime (1 thread).
- :class:`TvmRunner`: the Relax VM build of the same model (states stay TVM tensors).
- :class:`LiteRTRunner`: the TFLite step model in LiteRT's interpreter (1 thread).
- :class:`ReferenceRunner`: the NumPy reference simulator (window only: it has no step
  API, so its per-step time is its per-window time divided by T).

Runners raise :class:`UnsupportedError` at construction when a backend cannot express the
model, so the benchmark can report "unsupported by <backend>: <reason>".
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from snnc.compiler.codegen.onnx import OnnxStep, export_step
from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph


class Runner(ABC):
    """Streaming step runner. Subclasses implement ``reset`` and ``step``."""

    name: str = "runner"
    has_step: bool = True
    # Time of the backend's own execute call in the last step (ns), without the Python
    # glue around it (feeding inputs, reading outputs): its "native" per-step cost.
    last_native_ns: int | None = None

    @abstractmethod
    def reset(self, batch: int = 1) -> None:
        """Set every state to its value at t = 0."""

    @abstractmethod
    def step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Advance one step: inputs ``[B, ...]`` per Input node -> outputs per Output node."""

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run a whole window from t = 0: ``[B, T, ...]`` in, ``[B, T, ...]`` out."""
        first = next(iter(inputs.values()))
        bsz, tsteps = first.shape[:2]
        self.reset(bsz)
        outs: dict[str, list[np.ndarray]] = {}
        for t in range(tsteps):
            y = self.step({k: v[:, t] for k, v in inputs.items()})
            for k, v in y.items():
                outs.setdefault(k, []).append(np.asarray(v))
        return {k: np.stack(v, axis=1) for k, v in outs.items()}


class _StepModelRunner(Runner):
    """Shared bookkeeping for runners of an :class:`OnnxStep`-shaped model."""

    def __init__(self, step: OnnxStep) -> None:
        self.spec = step
        self.batch = step.batch or 1
        self.in_dtype = np.dtype(step.input_dtype)

    def _check_batch(self, batch: int) -> None:
        if self.spec.batch is not None and batch != self.spec.batch:
            raise SnncError(f"{self.name}: built for batch {self.spec.batch}, got {batch}")


class OnnxRuntimeRunner(_StepModelRunner):
    """onnxruntime on the ONNX step model, single-threaded (batch-1 streaming).

    Streams the way an efficient ORT application does: two prebuilt I/O bindings over
    preallocated OrtValues, ping-ponging the state buffers, so a step is one copy of the
    input into its buffer plus ``run_with_iobinding``. With ``batch=None`` (symbolic
    batch) it falls back to plain ``run`` with numpy feeds.
    """

    name = "onnxruntime"

    def __init__(self, step: OnnxStep, threads: int = 1) -> None:
        import onnxruntime as ort

        super().__init__(step)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.sess = ort.InferenceSession(step.model.SerializeToString(), so,
                                             providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types
            raise UnsupportedError(f"onnxruntime rejected the model: {e}") from e
        self.out_names = [o.name for o in self.sess.get_outputs()]
        self.bound = step.batch is not None
        if self.bound:
            self._make_bindings(ort)
        self.reset(self.batch)

    def _make_bindings(self, ort: Any) -> None:
        spec, b = self.spec, self.batch
        shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
                  for vi in list(spec.model.graph.input) + list(spec.model.graph.output)}
        from onnx import helper

        def ov(name: str, elem: int) -> Any:
            return ort.OrtValue.ortvalue_from_numpy(
                np.zeros(shapes[name], helper.tensor_dtype_to_np_dtype(elem)))

        types = {vi.name: vi.type.tensor_type.elem_type for vi in
                 list(spec.model.graph.input) + list(spec.model.graph.output)}
        self.x_ov = {n: ov(n, types[n]) for n in spec.inputs.values()}
        self.out_ov = {n: ov(n, types[n]) for n in spec.outputs.values()}
        sets = [{s.name: ort.OrtValue.ortvalue_from_numpy(s.initial(b)) for s in spec.states}
                for _ in range(2)]
        self.state_sets = sets
        self.bindings = []
        for k in range(2):
            io = self.sess.io_binding()
            for n, v in self.x_ov.items():
                io.bind_ortvalue_input(n, v)
            for s in spec.states:
                io.bind_ortvalue_input(s.name, sets[k][s.name])
                io.bind_ortvalue_output(s.out_name, sets[1 - k][s.name])
            for n, v in self.out_ov.items():
                io.bind_ortvalue_output(n, v)
            self.bindings.append(io)
        del b

    def reset(self, batch: int = 1) -> None:
        self._check_batch(batch)
        self.feed = self.spec.initial_state(batch)
        if self.bound:
            for name, v in self.feed.items():
                self.state_sets[0][name].update_inplace(v)
            self.k = 0

    def step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not self.bound:
            return self._step_feed(xs)
        for k, v in xs.items():
            self.x_ov[self.spec.inputs[k]].update_inplace(
                np.ascontiguousarray(v, dtype=self.in_dtype))
        t0 = time.perf_counter_ns()
        self.sess.run_with_iobinding(self.bindings[self.k])
        self.last_native_ns = time.perf_counter_ns() - t0
        self.k ^= 1
        # .numpy() views the bound buffer, which the next step overwrites: copy
        return {k: self.out_ov[v].numpy().copy() for k, v in self.spec.outputs.items()}

    @property
    def states_now(self) -> dict[str, np.ndarray]:
        """The current state values (after the last step)."""
        if not self.bound:
            return self.feed
        return {s.name: self.state_sets[self.k][s.name].numpy().copy() for s in self.spec.states}

    def _step_feed(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = self.feed
        for k, v in xs.items():
            feed[self.spec.inputs[k]] = np.asarray(v, self.in_dtype)
        t0 = time.perf_counter_ns()
        res = dict(zip(self.out_names, self.sess.run(self.out_names, feed)))
        self.last_native_ns = time.perf_counter_ns() - t0
        for s in self.spec.states:
            feed[s.name] = res[s.out_name]
        return {k: res[v] for k, v in self.spec.outputs.items()}


class OnnxRuntimeWindowRunner(Runner):
    """onnxruntime on the Scan window model: one call per sample (no per-step API)."""

    name = "onnxruntime-scan"
    has_step = False

    def __init__(self, window: OnnxStep, threads: int = 1) -> None:
        import onnxruntime as ort

        self.spec = window
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        try:
            self.sess = ort.InferenceSession(window.model.SerializeToString(), so,
                                             providers=["CPUExecutionProvider"])
        except Exception as e:
            raise UnsupportedError(f"onnxruntime rejected the Scan model: {e}") from e

    def reset(self, batch: int = 1) -> None:
        pass

    def step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise UnsupportedError("the Scan window model has no per-step entry point")

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        bsz = next(iter(inputs.values())).shape[0]
        feed = self.spec.initial_state(bsz)
        for k, v in inputs.items():
            feed[self.spec.inputs[k]] = np.asarray(v, self.spec.input_dtype)
        names = list(self.spec.outputs.values())
        return dict(zip(self.spec.outputs, self.sess.run(names, feed)))


class TvmRunner(_StepModelRunner):
    """The TVM (Relax, llvm) build of the step model, run in-process."""

    name = "tvm"

    def __init__(self, step: OnnxStep, schedule: str = "dlight") -> None:
        from snnc.bench.baselines.tvm_relax import TvmStep

        super().__init__(step)
        self.built = TvmStep.build(step, schedule)
        names = self.built.input_names()
        self.pos = {n: i for i, n in enumerate(names)}
        onames = self.built.output_names()
        self.opos = {n: i for i, n in enumerate(onames)}
        self.reset(self.batch)

    def reset(self, batch: int = 1) -> None:
        self._check_batch(batch)
        args: list[Any] = [None] * len(self.pos)
        for k, v in self.spec.initial_state(batch).items():
            args[self.pos[k]] = self.built.tensor(v)
        self.args = args

    def step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        args = self.args
        for k, v in xs.items():
            args[self.pos[self.spec.inputs[k]]] = self.built.tensor(np.asarray(v, self.in_dtype))
        t0 = time.perf_counter_ns()
        res = self.built.fn(*args)
        self.last_native_ns = time.perf_counter_ns() - t0
        if len(self.opos) == 1:
            res = [res]
        for s in self.spec.states:  # states stay on the TVM side
            args[self.pos[s.name]] = res[self.opos[s.out_name]]
        return {k: res[self.opos[v]].numpy() for k, v in self.spec.outputs.items()}


def litert_interpreter_class() -> Any:
    """LiteRT's ``Interpreter`` (ai-edge-litert), falling back to tflite_runtime."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # type: ignore
        except ImportError:
            raise UnsupportedError("neither ai-edge-litert nor tflite-runtime is installed") \
                from None
    return Interpreter


class LiteRTRunner(_StepModelRunner):
    """The TFLite step model in LiteRT's interpreter (1 thread)."""

    name = "litert"

    def __init__(self, model: Any, threads: int = 1) -> None:
        super().__init__(model.step)
        Interpreter = litert_interpreter_class()
        try:
            self.it = Interpreter(model_content=model.data, num_threads=threads)
            self.it.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise UnsupportedError(f"LiteRT rejected the model: {e}") from e
        ins = self.it.get_input_details()
        outs = self.it.get_output_details()
        # The flatbuffer keeps the ONNX graph's input/output order.
        onnx_in = [vi.name for vi in self.spec.model.graph.input]
        onnx_out = [vi.name for vi in self.spec.model.graph.output]
        self.in_idx = {n: d["index"] for n, d in zip(onnx_in, ins)}
        self.out_idx = {n: d["index"] for n, d in zip(onnx_out, outs)}
        self.reset(self.batch)

    def reset(self, batch: int = 1) -> None:
        self._check_batch(batch)
        for k, v in self.spec.initial_state(batch).items():
            self.it.set_tensor(self.in_idx[k], v)

    def step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        it = self.it
        for k, v in xs.items():
            it.set_tensor(self.in_idx[self.spec.inputs[k]], np.asarray(v, self.in_dtype))
        t0 = time.perf_counter_ns()
        it.invoke()
        self.last_native_ns = time.perf_counter_ns() - t0
        outs = {k: it.get_tensor(self.out_idx[v]) for k, v in self.spec.outputs.items()}
        for s in self.spec.states:
            it.set_tensor(self.in_idx[s.name], it.get_tensor(self.out_idx[s.out_name]))
        return outs


class ReferenceRunner(Runner):
    """The NumPy reference simulator (float or integer), window at a time."""

    name = "numpy-reference"
    has_step = False

    def __init__(self, graph: Graph, integer: bool = False) -> None:
        self.graph = graph
        self.integer = integer

    def reset(self, batch: int = 1) -> None:
        pass

    def step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise UnsupportedError("the reference simulator has no per-step entry point")

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.integer:
            from snnc.compiler.ir.interpret_int import simulate_int  # type: ignore

            return simulate_int(self.graph, inputs).outputs
        from snnc.compiler.ir.interpret import simulate

        return simulate(self.graph, inputs, check=False).outputs


def make_runner(backend: str, graph: Graph, *, dtype: str = "float32", batch: int = 1
                ) -> Runner:
    """Build the runner for ``backend`` ('onnxruntime', 'tvm', 'litert', 'reference')."""
    if backend == "reference":
        return ReferenceRunner(graph, integer=(dtype == "int"))
    if backend == "onnxruntime":
        return OnnxRuntimeRunner(export_step(graph, dtype=dtype, batch=batch))
    if backend == "onnxruntime-scan":
        from snnc.compiler.codegen.onnx import export_window

        return OnnxRuntimeWindowRunner(export_window(graph, dtype=dtype, batch=batch))
    if backend == "tvm":
        return TvmRunner(export_step(graph, dtype=dtype, batch=batch))
    if backend == "litert":
        from snnc.compiler.codegen.tflite import export_tflite

        if batch != 1:
            raise UnsupportedError("LiteRT export is batch 1 (streaming)")
        return LiteRTRunner(export_tflite(graph, dtype=dtype))
    raise SnncError(f"unknown baseline backend '{backend}'")
