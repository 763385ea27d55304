"""TFLite flatbuffer of an snnc graph's step function, written without TensorFlow.

We translate the ONNX step model of :mod:`compiler.codegen.onnx` (static batch, so
every tensor has a static shape after ONNX shape inference) op by op into TFLite
builtins, and serialize it with the TFLite schema's generated Python classes shipped in
``ai_edge_litert`` (``schema_py_generated``, the flatbuffers object API) — no
TensorFlow, no converter. States are explicit inputs/outputs as in the ONNX model.

Op mapping (ONNX -> TFLite): MatMul with a constant -> FULLY_CONNECTED (weights stored
[out, in]); Add/Sub/Mul/Max -> ADD/SUB/MUL/MAXIMUM (broadcasting); Greater -> GREATER;
Cast -> CAST; Where -> SELECT_V2; Reshape -> RESHAPE; Concat -> CONCATENATION;
Slice -> SLICE (with steps: STRIDED_SLICE); Pad -> PAD; Conv (1-d/2-d) -> TRANSPOSE to
NHWC, PAD, CONV_2D (one per group, then CONCATENATION), TRANSPOSE back; Identity -> the
same tensor. SumPool2d arrives as Pad + strided Slices + Add (see ``onnx.sum_pool``). Integer ops are listed in :mod:`compiler.codegen.onnx_int`.

Differences from the ONNX/reference models (documented, tested):
- float32 only: TFLite has no float64 kernels for these ops.
- FULLY_CONNECTED may reorder the dot-product sums (XNNPACK/ruy kernels), so membranes
  agree with the float32 ONNX model to float32 rounding, not bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from snnc.compiler import ops
from snnc.compiler.codegen.onnx import OnnxStep, export_step
from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph


def _schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:  # pragma: no cover - ai-edge-litert is a dependency
        try:
            from tflite_runtime import schema_py_generated as schema  # type: ignore
        except ImportError:
            raise UnsupportedError(
                "TFLite export needs the TFLite schema classes from ai-edge-litert "
                "(pip install ai-edge-litert)") from None
    return schema


_TYPES = {np.dtype(np.float32): 0, np.dtype(np.int32): 2, np.dtype(np.uint8): 3,
          np.dtype(np.int64): 4, np.dtype(np.bool_): 6, np.dtype(np.int16): 7,
          np.dtype(np.int8): 9, np.dtype(np.float64): 10}


class _TfliteBuilder:
    """Tensors, buffers and operators of one TFLite subgraph."""

    def __init__(self) -> None:
        self.S = _schema()
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [self.S.BufferT()]  # buffer 0: the empty sentinel
        self.ops: list[Any] = []
        self.codes: dict[int, int] = {}
        self.code_list: list[Any] = []
        self.index: dict[str, int] = {}

    def tensor(self, name: str, shape: tuple[int, ...], dtype: Any,
               data: np.ndarray | None = None) -> int:
        dt = np.dtype(dtype)
        if dt not in _TYPES:
            raise UnsupportedError(f"TFLite: tensor '{name}' has unsupported dtype {dt}")
        t = self.S.TensorT()
        t.shape = [int(s) for s in shape]
        t.type = _TYPES[dt]
        t.name = name
        t.buffer = 0
        if data is not None:
            buf = self.S.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data, dtype=dt).tobytes(), np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        self.index[name] = len(self.tensors) - 1
        return self.index[name]

    def const(self, name: str, arr: np.ndarray) -> int:
        return self.tensor(name, arr.shape, arr.dtype, arr)

    def op(self, code_name: str, inputs: list[int], outputs: list[int],
           opt_name: str | None = None, opts: Any = None) -> None:
        S = self.S
        code = getattr(S.BuiltinOperator, code_name)
        if code not in self.codes:
            oc = S.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)  # 127 = PLACEHOLDER_FOR_GREATER_OP_CODES
            oc.version = 1
            self.codes[code] = len(self.code_list)
            self.code_list.append(oc)
        o = S.OperatorT()
        o.opcodeIndex = self.codes[code]
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if opt_name is not None:
            o.builtinOptionsType = getattr(S.BuiltinOptions, opt_name)
            o.builtinOptions = opts
        self.ops.append(o)

    def finish(self, inputs: list[int], outputs: list[int], name: str) -> bytes:
        import flatbuffers

        S = self.S
        sg = S.SubGraphT()
        sg.tensors, sg.inputs, sg.outputs, sg.operators = self.tensors, inputs, outputs, self.ops
        sg.name = name
        m = S.ModelT()
        m.version = 3
        m.operatorCodes = self.code_list
        m.subgraphs = [sg]
        m.buffers = self.buffers
        m.description = "snnc"
        fb = flatbuffers.Builder(1024)
        fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
        return bytes(fb.Output())


class TfliteModel:
    """A TFLite step model and the tensor names a runner needs (same as the ONNX step)."""

    def __init__(self, data: bytes, step: OnnxStep) -> None:
        self.data = data
        self.step = step

    def save(self, path: str | Path) -> Path:
        """Write the .tflite file atomically."""
        from snnc.compiler.ir.serialize import atomic_write

        atomic_write(path, lambda f: f.write(self.data))
        return Path(path)


def export_tflite(graph: Graph, *, dtype: str = "float32") -> TfliteModel:
    """The step function of ``graph`` as a TFLite model (batch 1).

    ``dtype`` is 'float32' or 'int' (a quantized graph). Raises
    :class:`UnsupportedError` naming the op or node TFLite cannot express.
    """
    if dtype == "float64":
        raise UnsupportedError("TFLite has no float64 kernels; export float32")
    for name, node in graph.items():  # registered ops: raises naming an unsupported node
        ops.lowering("tflite", name, node)
    return from_onnx_step(export_step(graph, dtype=dtype, batch=1))


def from_onnx_step(step: OnnxStep) -> TfliteModel:
    """Translate a static-shape ONNX step model into a TFLite flatbuffer."""
    if step.batch is None or step.window:
        raise SnncError("TFLite export needs a step model with a static batch")
    model = shape_inference.infer_shapes(step.model, strict_mode=True)
    g = model.graph
    shapes: dict[str, tuple[int, ...]] = {}
    dtypes: dict[str, Any] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        shapes[vi.name] = tuple(d.dim_value for d in tt.shape.dim)
        dtypes[vi.name] = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    tb = _TfliteBuilder()
    alias: dict[str, str] = {}

    def ref(name: str) -> int:
        name = alias.get(name, name)
        if name in tb.index:
            return tb.index[name]
        if name in consts:
            return tb.const(name, consts[name])
        raise SnncError(f"TFLite export: value '{name}' used before it is defined")

    def new(name: str) -> int:
        return tb.tensor(name, shapes[name], dtypes[name])

    in_idx = [tb.tensor(vi.name, shapes[vi.name], dtypes[vi.name]) for vi in g.input]
    graph_inputs = {vi.name for vi in g.input}
    exact = set(step.extra.get("exact_f32", ()))
    rshift = step.extra.get("rshift", {})
    skip = {v["mod"] for v in rshift.values()} | {v["sub"] for v in rshift.values()}
    for node in g.node:
        if node.output[0] in skip:
            continue
        if node.output[0] in rshift:
            _rshift(tb, node.output[0], rshift[node.output[0]], ref, new)
            continue
        if node.op_type == "MatMul" and np.dtype(dtypes[node.input[0]]).kind == "i":
            _int_matmul(tb, node, ref, new, consts, shapes, node.output[0] in exact)
            continue
        _translate(tb, node, ref, new, consts, shapes, alias, graph_inputs)
    out_idx = [ref(vi.name) for vi in g.output]
    return TfliteModel(tb.finish(in_idx, out_idx, g.name), step)


_BINARY = {"Add": ("ADD", "AddOptions"), "Sub": ("SUB", "SubOptions"),
           "Mul": ("MUL", "MulOptions"), "Max": ("MAXIMUM", None), "Min": ("MINIMUM", None),
           "Greater": ("GREATER", None), "Div": ("FLOOR_DIV", None),
           "Mod": ("FLOOR_MOD", None)}


def _translate(tb: _TfliteBuilder, node: onnx.NodeProto, ref: Any, new: Any,
               consts: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
               alias: dict[str, str], graph_inputs: set[str]) -> None:
    S = tb.S
    op, ins, out = node.op_type, list(node.input), node.output[0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if op == "Identity":
        src = alias.get(ins[0], ins[0])
        if src in graph_inputs or src in consts:
            # an output must be a distinct tensor: copy through a RESHAPE
            opts = S.ReshapeOptionsT()
            opts.newShape = list(shapes[out])
            tb.op("RESHAPE", [ref(src), tb.const(out + "_shape",
                                                 np.array(shapes[out], np.int32))],
                  [new(out)], "ReshapeOptions", opts)
        else:
            alias[out] = src
        return
    if op in _BINARY:
        code, opt_name = _BINARY[op]
        if op == "Div" and np.dtype(consts.get(ins[1], np.zeros(0, np.int64)).dtype).kind != "i":
            raise UnsupportedError("TFLite export: float Div is not used by snnc exports")
        opts = getattr(S, f"{opt_name}T")() if opt_name else None
        tb.op(code, [ref(ins[0]), ref(ins[1])], [new(out)], opt_name, opts)
        return
    if op == "MatMul":
        if ins[1] in consts and len(shapes[ins[0]]) == 2:
            w = np.ascontiguousarray(consts[ins[1]].T)  # FULLY_CONNECTED wants [out, in]
            opts = S.FullyConnectedOptionsT()
            tb.op("FULLY_CONNECTED", [ref(ins[0]), tb.const(out + "_w", w), -1], [new(out)],
                  "FullyConnectedOptions", opts)
        else:
            tb.op("BATCH_MATMUL", [ref(ins[0]), ref(ins[1])], [new(out)],
                  "BatchMatMulOptions", S.BatchMatMulOptionsT())
        return
    if op == "Cast":
        tb.op("CAST", [ref(ins[0])], [new(out)])
        return
    if op == "Where":
        tb.op("SELECT_V2", [ref(i) for i in ins], [new(out)], "SelectV2Options",
              S.SelectV2OptionsT())
        return
    if op == "Reshape":
        opts = S.ReshapeOptionsT()
        opts.newShape = list(shapes[out])
        tb.op("RESHAPE", [ref(ins[0]), tb.const(out + "_shape", np.array(shapes[out], np.int32))],
              [new(out)], "ReshapeOptions", opts)
        return
    if op == "Concat":
        opts = S.ConcatenationOptionsT()
        opts.axis = int(attrs["axis"])
        tb.op("CONCATENATION", [ref(i) for i in ins], [new(out)], "ConcatenationOptions", opts)
        return
    if op == "Pad":
        if len(ins) > 2 and ins[2] or attrs.get("mode", b"constant") not in (b"constant",
                                                                          "constant"):
            raise UnsupportedError(f"TFLite export: Pad '{out}': only zero padding is mapped")
        p = consts[ins[1]].astype(np.int32)
        tb.op("PAD", [ref(ins[0]), tb.const(out + "_pads", np.ascontiguousarray(
            np.stack([p[:p.size // 2], p[p.size // 2:]], axis=1)))], [new(out)])
        return
    if op == "Slice" and len(ins) > 4 and np.any(consts[ins[4]] != 1):
        _strided_slice(tb, ins, out, ref, new, consts, shapes)
        return
    if op == "Slice":
        shp = shapes[ins[0]]
        starts, ends = consts[ins[1]], consts[ins[2]]
        if len(ins) < 4 or not ins[3]:
            raise UnsupportedError("TFLite export: Slice needs explicit axes")
        begin = np.zeros(len(shp), np.int32)
        size = np.array(shp, np.int32)
        for a, s, e in zip(consts[ins[3]], starts, ends):
            a = int(a) % len(shp)
            s, e = int(max(0, s)), int(min(e, shp[a]))
            begin[a], size[a] = s, e - s
        tb.op("SLICE", [ref(ins[0]), tb.const(out + "_begin", begin),
                        tb.const(out + "_size", size)], [new(out)], "SliceOptions",
              S.SliceOptionsT())
        return
    if op == "Conv":
        _conv(tb, node, attrs, ref, new, consts, shapes)
        return
    raise UnsupportedError(f"TFLite export: no mapping for ONNX op '{op}' (node {out})")


def _strided_slice(tb: _TfliteBuilder, ins: list[str], out: str, ref: Any, new: Any,
                   consts: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]]) -> None:
    """ONNX Slice with steps (SumPool2d's windows) -> STRIDED_SLICE over every axis."""
    shp = shapes[ins[0]]
    begin = np.zeros(len(shp), np.int32)
    end = np.array(shp, np.int32)
    strides = np.ones(len(shp), np.int32)
    if len(ins) < 4 or not ins[3]:
        raise UnsupportedError(f"TFLite export: Slice '{out}' needs explicit axes")
    for a, b, e, st in zip(consts[ins[3]], consts[ins[1]], consts[ins[2]], consts[ins[4]]):
        a = int(a) % len(shp)
        if int(st) < 1:
            raise UnsupportedError(f"TFLite export: Slice '{out}' has a non-positive step")
        begin[a], end[a], strides[a] = max(0, int(b)), min(int(e), shp[a]), int(st)
    tb.op("STRIDED_SLICE", [ref(ins[0]), tb.const(out + "_begin", begin),
                            tb.const(out + "_end", end), tb.const(out + "_strides", strides)],
          [new(out)], "StridedSliceOptions", tb.S.StridedSliceOptionsT())


def _rshift(tb: _TfliteBuilder, out: str, info: dict[str, Any], ref: Any, new: Any) -> None:
    """``rshift_round`` as one arithmetic RIGHT_SHIFT on int32 (LiteRT lacks int64 shifts).

    The exporter recorded a bound on ``x + half``; only if it fits int32 is the 32-bit
    shift exact. Shifts >= 31 are clamped to 31 (equal results for |y| < 2**31).
    """
    if info["bound"] >= 2.0 ** 31:
        raise UnsupportedError(
            "LiteRT has no 64-bit arithmetic shift (RIGHT_SHIFT and FLOOR_DIV lack int64) and "
            f"this requantization needs {int(np.ceil(np.log2(info['bound'] + 1)))} bits; "
            "quantize with pow2=True and state_bits=16 to export integer TFLite")
    y = info["y"]
    shp = tb.tensors[ref(y)].shape
    y32 = tb.tensor(out + "_y32", tuple(shp), np.int32)
    tb.op("CAST", [ref(y)], [y32])
    n = np.minimum(np.asarray(info["n"]), 31).astype(np.int32)
    r32 = tb.tensor(out + "_r32", tuple(shp), np.int32)
    tb.op("RIGHT_SHIFT", [y32, tb.const(out + "_n", n)], [r32])
    tb.op("CAST", [r32], [new(out)])


def _int_matmul(tb: _TfliteBuilder, node: onnx.NodeProto, ref: Any, new: Any,
                consts: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
                exact_f32: bool) -> None:
    """Integer x[B, in] @ W[in, out]: TFLite's FULLY_CONNECTED has no int64 kernel.

    If the exporter proved |acc| < 2**24 (``exact_f32``), a float32 FULLY_CONNECTED on
    the integer values is exact in any summation order: CAST -> FC -> CAST. Otherwise an
    exact int64 MUL (broadcast [B, 1, in] * [out, in]) followed by SUM over ``in``.
    """
    S = tb.S
    x, out = node.input[0], node.output[0]
    w = consts[node.input[1]]
    b, inn = shapes[x]
    if exact_f32:
        xf = tb.tensor(out + "_xf", (b, inn), np.float32)
        tb.op("CAST", [ref(x)], [xf])
        yf = tb.tensor(out + "_yf", (b, w.shape[1]), np.float32)
        tb.op("FULLY_CONNECTED", [xf, tb.const(out + "_w", np.ascontiguousarray(
            w.T.astype(np.float32))), -1], [yf], "FullyConnectedOptions",
            S.FullyConnectedOptionsT())
        tb.op("CAST", [yf], [new(out)])
        return
    x3 = tb.tensor(out + "_x3", (b, 1, inn), np.int64)
    opts = S.ReshapeOptionsT()
    opts.newShape = [b, 1, inn]
    tb.op("RESHAPE", [ref(x), tb.const(out + "_s3", np.array([b, 1, inn], np.int32))], [x3],
          "ReshapeOptions", opts)
    prod = tb.tensor(out + "_prod", (b, w.shape[1], inn), np.int64)
    tb.op("MUL", [x3, tb.const(out + "_wt", np.ascontiguousarray(w.T.astype(np.int64)))],
          [prod], "MulOptions", S.MulOptionsT())
    ro = S.ReducerOptionsT()
    ro.keepDims = False
    tb.op("SUM", [prod, tb.const(out + "_axis", np.array([2], np.int32))], [new(out)],
          "ReducerOptions", ro)


def _conv(tb: _TfliteBuilder, node: onnx.NodeProto, attrs: dict[str, Any], ref: Any,
          new: Any, consts: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]]) -> None:
    """Conv (NCHW / NCL) as TRANSPOSE -> PAD -> CONV_2D (NHWC) -> TRANSPOSE.

    A grouped convolution becomes one CONV_2D per group on a channel SLICE, joined by
    CONCATENATION (LiteRT's CONV_2D kernels do not all implement groups).
    """
    S = tb.S
    ins, out = list(node.input), node.output[0]
    groups = int(attrs.get("group", 1))
    x_shape = shapes[ins[0]]
    w = consts[ins[1]]
    one_d = len(x_shape) == 3
    strides = list(attrs.get("strides", [1] * (len(x_shape) - 2)))
    dil = list(attrs.get("dilations", [1] * (len(x_shape) - 2)))
    pads = list(attrs.get("pads", [0] * 2 * (len(x_shape) - 2)))
    x = ref(ins[0])
    if one_d:  # [B, C, L] -> [B, C, 1, L]
        b, c, ln = x_shape
        x4 = tb.tensor(out + "_x4", (b, c, 1, ln), np.float32)
        tb.op("RESHAPE", [x, tb.const(out + "_s4", np.array([b, c, 1, ln], np.int32))], [x4])
        x, x_shape = x4, (b, c, 1, ln)
        w = w[:, :, None, :]
        strides, dil = [1] + strides, [1] + dil
        pads = [0, pads[0], 0, pads[1]]
    b, c, h, wd = x_shape
    nhwc = tb.tensor(out + "_nhwc", (b, h, wd, c), np.float32)
    tb.op("TRANSPOSE", [x, tb.const(out + "_p1", np.array([0, 2, 3, 1], np.int32))], [nhwc])
    ph0, pw0, ph1, pw1 = pads
    if any(pads):
        padded = tb.tensor(out + "_pad", (b, h + ph0 + ph1, wd + pw0 + pw1, c), np.float32)
        tb.op("PAD", [nhwc, tb.const(out + "_pads", np.array(
            [[0, 0], [ph0, ph1], [pw0, pw1], [0, 0]], np.int32))], [padded])
        nhwc = padded
    co = w.shape[0]
    oshape = shapes[out]
    oh, ow = (1, oshape[2]) if one_d else oshape[2:]
    y = tb.tensor(out + "_y", (b, oh, ow, co), np.float32)
    bias = consts[ins[2]] if len(ins) > 2 else np.zeros(co, np.float32)
    opts = S.Conv2DOptionsT()
    opts.padding = S.Padding.VALID
    opts.strideH, opts.strideW = int(strides[0]), int(strides[1])
    opts.dilationHFactor, opts.dilationWFactor = int(dil[0]), int(dil[1])
    w_nhwc = np.ascontiguousarray(w.transpose(0, 2, 3, 1))
    if groups == 1:
        tb.op("CONV_2D", [nhwc, tb.const(out + "_w", w_nhwc),
                          tb.const(out + "_b", bias.astype(np.float32))], [y], "Conv2DOptions",
              opts)
    else:
        cin_g, cout_g = c // groups, co // groups
        hp, wp = tb.tensors[nhwc].shape[1:3]
        parts = []
        for g in range(groups):
            xg = tb.tensor(f"{out}_x{g}", (b, hp, wp, cin_g), np.float32)
            tb.op("SLICE", [nhwc, tb.const(f"{out}_b{g}", np.array([0, 0, 0, g * cin_g], np.int32)),
                            tb.const(f"{out}_n{g}", np.array([b, hp, wp, cin_g], np.int32))],
                  [xg], "SliceOptions", S.SliceOptionsT())
            yg = tb.tensor(f"{out}_y{g}", (b, oh, ow, cout_g), np.float32)
            sl = slice(g * cout_g, (g + 1) * cout_g)
            tb.op("CONV_2D", [xg, tb.const(f"{out}_w{g}", np.ascontiguousarray(w_nhwc[sl])),
                              tb.const(f"{out}_bias{g}", bias[sl].astype(np.float32))], [yg],
                  "Conv2DOptions", opts)
            parts.append(yg)
        cat = S.ConcatenationOptionsT()
        cat.axis = 3
        tb.op("CONCATENATION", parts, [y], "ConcatenationOptions", cat)
    if one_d:
        yt = tb.tensor(out + "_yt", (b, co, 1, ow), np.float32)
        tb.op("TRANSPOSE", [y, tb.const(out + "_p2", np.array([0, 3, 1, 2], np.int32))], [yt])
        tb.op("RESHAPE", [yt, tb.const(out + "_s3", np.array(oshape, np.int32))], [new(out)])
    else:
        tb.op("TRANSPOSE", [y, tb.const(out + "_p2", np.array([0, 3, 1, 2], np.int32))],
              [new(out)])
