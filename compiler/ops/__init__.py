"""The op registry: one :class:`OpDef` per node kind, everything the Python side knows.

A kind that lives in ``compiler/ops/<kind>.py`` declares, in that one file, its float and
quantized node classes, its state spec, traits, float and integer step rules, quantize
rule, NIR mapping and (with :func:`lower`) one lowering per backend or an explicit
:data:`UNSUPPORTED`. Every dispatcher of the compiler (IR kind table, both simulators,
verify, quantize, the C/HLS/ONNX/TFLite emitters, NIR import/export) asks this registry
for a kind it does not know itself, so adding a kind touches no dispatcher.

Every neuron population kind is an op here (LIF, LI, IF, CubaLIF, ALIF); the synapse,
pooling, I/O and readout kinds are built into the dispatchers.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from snnc.compiler.errors import UnsupportedError

#: Backends an op must answer for (a lowering or UNSUPPORTED); the coverage test checks it.
BACKENDS: tuple[str, ...] = ("c", "hls", "onnx", "onnx_int", "tflite")

#: Marker registered instead of a lowering: the backend rejects the op, naming the node.
UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class StateVar:
    """One state variable per neuron: ``name`` in the simulators' state dict, and its
    width (``bits_field`` names the quantized node's field holding it, e.g. ``state_bits``)."""

    name: str
    bits_field: str
    doc: str = ""

    def bits(self, qnode: Any) -> int:
        """Width in bits of this variable for the quantized node ``qnode``."""
        return int(getattr(qnode, self.bits_field))


@dataclass(frozen=True)
class FusedNeuron:
    """An op's form in the fused 16-bit population kernel (compiler/codegen/c_fused.py)::

        v = sat(decay(v, <decay>) + x + <leak>);  s = v > thr_q
        reset 'subtract': v -= thr_q;  'zero': v = reset_q

    ``decay`` and ``leak`` name the quantized node's fields, or None for an op without
    them (IF: ``v = sat(v + x)``). An op whose integer step has this form declares it, and
    the kernel handles it without knowing the kind."""

    decay: str | None = None
    leak: str | None = None


@dataclass
class OpDef:
    """Everything the compiler knows about one node kind.

    ``float_step(node, x, st, graph) -> y`` and ``int_step(node, x, st, graph) -> y`` are
    the simulators' rules; ``quantize(q, name, node) -> (qnode, input_scale, info)`` gets
    the quantizer (``q``, for calibration statistics and options); ``nir_type`` names the
    NIR primitive (e.g. ``"LIF"``), ``nir_import(nir_node, shape, nc) -> node`` and
    ``nir_export(node, nc) -> nir node`` get the NIR frontend's conventions in ``nc``
    (compiler/frontend/nir.py: framework, parameter readers ``q``/``tau``/``levels``,
    ``reset``; on export ``full(field)``, ``meta()``, ``attrs``); ``nir_export`` is
    ``None`` when NIR has no such primitive (then export raises UnsupportedError naming
    the node, with ``nir_unsupported`` as the reason).
    """

    kind: str
    float_cls: type
    quant_cls: type | None = None
    state: tuple[StateVar, ...] = ()
    spiking: bool = False
    stateful: bool = True
    population: bool = True  # receives requantized synapse sums in its state units
    float_step: Callable[..., Any] | None = None
    int_step: Callable[..., Any] | None = None
    quantize: Callable[..., Any] | None = None
    nir_type: str | None = None  # the NIR primitive's class name in the nir package
    nir_import: Callable[..., Any] | None = None
    nir_export: Callable[..., Any] | None = None
    check: Callable[..., Any] | None = None  # check(name, node): raises GraphError
    nir_unsupported: str = ""  # why NIR cannot carry this op (when nir_export is None)
    # The MPSoC resource estimator's model of the op's HLS loop (targets/mpsoc/estimate.py):
    # ops (w-bit adders/compares per neuron), params (int32 tables), decayed (states with a
    # Q0.15 decay multiply), mult (a state times a 32-bit multiplier, with a barrel shift),
    # out_buffer (an extra int32 output array), deep (the longer CubaLIF pipeline). Empty:
    # the estimator rejects the op.
    hls_cost: dict[str, Any] = field(default_factory=dict)
    lowerings: dict[str, Any] = field(default_factory=dict)
    fused_c: FusedNeuron | None = None  # its form in the fused C population kernel, if any

    def state_bytes(self, qnode: Any) -> int:
        """RAM of this op's state for ``qnode`` (what the planners and statics reserve)."""
        n = int(qnode.size)
        return sum(n * (2 if v.bits(qnode) <= 16 else 4) for v in self.state)


_OPS: dict[str, OpDef] = {}        # kind (float or quantized) -> op
_BY_CLASS: dict[type, OpDef] = {}  # exact class -> op


def register(op: OpDef) -> OpDef:
    """Add ``op``: its node classes join the IR kind table (so .snn files round-trip)."""
    from snnc.compiler.ir.nodes import NODE_KINDS, SPIKE

    for cls in (op.float_cls, op.quant_cls):
        if cls is None:
            continue
        if (cls.out_dtype == SPIKE) != op.spiking:  # one answer to "is it spiking"
            raise ValueError(f"op '{op.kind}': spiking={op.spiking} but {cls.__name__}."
                             f"out_dtype is '{cls.out_dtype}'")
        if cls.kind in NODE_KINDS and NODE_KINDS[cls.kind] is not cls:
            raise ValueError(f"op kind '{cls.kind}' is already defined")
        NODE_KINDS[cls.kind] = cls
        _OPS[cls.kind] = op
        _BY_CLASS[cls] = op
    return op


def lower(backend: str, kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``fn`` as ``backend``'s lowering of the op named ``kind``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend '{backend}' (known: {', '.join(BACKENDS)})")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _OPS[kind].lowerings[backend] = fn
        return fn
    return deco


def unsupported(backend: str, kind: str, why: str) -> None:
    """Declare that ``backend`` cannot lower ``kind`` (``why`` ends up in the error)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend '{backend}'")
    _OPS[kind].lowerings[backend] = (UNSUPPORTED, why)


def op_for(node: Any) -> OpDef | None:
    """The registered op of ``node`` (exact class), or None for a built-in kind."""
    return _BY_CLASS.get(type(node))


def fused_neuron(node: Any) -> FusedNeuron | None:
    """The fused-kernel form of the quantized ``node`` (:class:`FusedNeuron`), or None when
    its op declares none or ``node`` is not the op's quantized class."""
    op = op_for(node)
    if op is None or type(node) is not op.quant_cls:
        return None
    return op.fused_c


def ops() -> list[OpDef]:
    """Every registered op, once each."""
    return list({id(o): o for o in _OPS.values()}.values())


def lowering(backend: str, name: str, node: Any) -> Callable[..., Any] | None:
    """``backend``'s lowering of ``node``; None for a kind the registry does not hold.

    Raises UnsupportedError naming the node when the op declares the backend unsupported
    or registers nothing for it."""
    op = op_for(node)
    if op is None:
        return None
    fn = op.lowerings.get(backend)
    if fn is None or (isinstance(fn, tuple) and fn[0] == UNSUPPORTED):
        why = fn[1] if isinstance(fn, tuple) else "no lowering registered"
        raise UnsupportedError(f"node '{name}': the {backend} backend cannot lower op "
                               f"'{node.kind}' ({why})")
    return fn


def unregister(kind: str) -> None:
    """Remove the op named ``kind`` and its node classes (tests that register toy ops)."""
    from snnc.compiler.ir.nodes import NODE_KINDS

    op = _OPS[kind]
    for cls in (op.float_cls, op.quant_cls):
        if cls is not None:
            NODE_KINDS.pop(cls.kind, None)
            _OPS.pop(cls.kind, None)
            _BY_CLASS.pop(cls, None)


def is_population(node: Any) -> bool:
    """True for a registered neuron population (its input arrives through synapses)."""
    op = op_for(node)
    return op is not None and op.population


def coverage_gaps(op: OpDef) -> list[str]:
    """What ``op`` leaves undeclared: a backend with neither a lowering nor an explicit
    UNSUPPORTED, a missing step/quantize rule, a stateful op without state spec, NIR with
    neither a mapping nor a reason."""
    gaps = []
    for b in BACKENDS:
        fn = op.lowerings.get(b)
        if not (callable(fn) or (isinstance(fn, tuple) and fn[0] == UNSUPPORTED and fn[1])):
            gaps.append(f"{op.kind}: backend '{b}' has no lowering and no explicit unsupported")
    for f in ("float_step", "int_step", "quantize"):
        if op.quant_cls is not None and getattr(op, f) is None:
            gaps.append(f"{op.kind}: no {f} rule")
    if op.stateful and not op.state:
        gaps.append(f"{op.kind}: stateful but no state spec (the planner cannot size it)")
    if op.nir_export is None and not op.nir_unsupported:
        gaps.append(f"{op.kind}: no NIR mapping and no reason why not")
    return gaps


def _load_all() -> None:
    for m in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{m.name}")


_load_all()
