"""Tiny helpers for emitting C: identifiers, exact literals and const arrays.

Everything here is deterministic (same input -> same text), so generated files can be
snapshot-tested. Floats are written with the shortest decimal that reads back to the
same binary value, integers as plain decimals (``INT32_MIN`` as ``(-2147483647 - 1)``,
because ``-2147483648`` is a negated ``long`` in C).
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np

from snnc.compiler.errors import SnncError

# C99 keywords, C11 additions, and names the generated code or libc reserve.
C_RESERVED = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic
_Generic _Noreturn _Static_assert _Thread_local bool true false NULL main errno assert
""".split())

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def identifier(name: str) -> str:
    """``name`` if it is a usable C identifier, else SnncError saying why.

    Rejects C keywords and reserved names (``int``, ``static``, ``main``, ...), names
    starting with ``__`` or ``_`` + uppercase (reserved to the implementation) and
    anything that is not ``[A-Za-z_][A-Za-z0-9_]*``.
    """
    if not isinstance(name, str) or not _IDENT.match(name):
        raise SnncError(f"'{name}' is not a valid C identifier")
    if name in C_RESERVED:
        raise SnncError(f"'{name}' is a reserved word in C")
    if name.startswith("__") or (len(name) > 1 and name[0] == "_" and name[1].isupper()):
        raise SnncError(f"'{name}' is reserved to the C implementation")
    return name


def mangle(name: str) -> str:
    """A C-safe fragment for an arbitrary node or model name (``'fc.1'`` -> ``'fc_1'``).

    Characters outside ``[A-Za-z0-9_]`` become ``_``; a leading digit or underscore gets
    an ``n`` prefix (so does a name starting with the runtime's ``snnc`` prefix); a
    reserved word gets a trailing ``_``. Callers make the results
    unique (see :func:`unique_names`).
    """
    s = re.sub(r"[^A-Za-z0-9_]", "_", str(name))
    # Digits and '_' cannot lead; 'snnc' is the runtime's prefix, kept clear of node names.
    if not s or s[0].isdigit() or s[0] == "_" or s.lower().startswith("snnc"):
        s = "n" + s
    if s in C_RESERVED:
        s += "_"
    return s


def unique_names(names: Iterable[str]) -> dict[str, str]:
    """Map each name to a distinct mangled identifier fragment, deterministically.

    Collisions after mangling (``'a.b'`` and ``'a_b'``) are resolved by suffixing
    ``_2``, ``_3``, ... in sorted order of the original names.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in sorted(names):
        base = mangle(n)
        cand, k = base, 2
        while cand in used:
            cand, k = f"{base}_{k}", k + 1
        used.add(cand)
        out[n] = cand
    return out


def int_literal(v: int | np.integer) -> str:
    """Exact C literal of an integer in the int64 range."""
    v = int(v)
    if v == -(1 << 31):
        return "(-2147483647 - 1)"
    if v == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    if not -(1 << 63) <= v < (1 << 63):
        raise SnncError(f"integer {v} does not fit in 64 bits")
    if v > (1 << 31) - 1 or v < -(1 << 31):
        return f"{v}LL"
    return str(v)


def real_literal(v: float | np.floating) -> str:
    """Exact C literal of a double (shortest round-trip decimal); rejects inf/nan.

    Used for ``snnc_real_t`` tables: a double build reads back the same binary value,
    a float build rounds it once to the nearest float, as the compiler must.
    """
    f = float(v)
    if not np.isfinite(f):
        raise SnncError(f"cannot emit the non-finite value {f} as a C constant")
    s = repr(f)
    if "e" not in s and "." not in s:
        s += ".0"
    return s


def float32_literal(v: float | np.floating) -> str:
    """Exact C ``float`` literal (shortest decimal that round-trips in float32)."""
    f = np.float32(v)
    if not np.isfinite(f):
        raise SnncError(f"cannot emit the non-finite value {f} as a C constant")
    if f == 0 or 1e-4 <= abs(f) < 1e7:
        s = np.format_float_positional(f, unique=True, trim="0")
        return s + "f" if "." in s else s + ".0f"
    s = np.format_float_scientific(f, unique=True, trim="-")
    mant, _, exp = s.partition("e")
    e = int(exp) if exp else 0
    if "." not in mant:
        mant += ".0"
    return f"{mant}e{e}f" if e else f"{mant}f"


def literal(v: object, ctype: str) -> str:
    """The literal of ``v`` for C type ``ctype``."""
    if ctype == "float":
        return float32_literal(v)  # type: ignore[arg-type]
    if ctype in ("double", "snnc_real_t"):
        return real_literal(v)  # type: ignore[arg-type]
    return int_literal(v)  # type: ignore[arg-type]


def array(ctype: str, name: str, values: np.ndarray | Iterable[object], *,
          per_line: int = 12, comment: str = "", strings: bool = False,
          blobs: dict[str, bytes] | None = None) -> str:
    """``static const <ctype> <name>[N] = {...};`` with fixed wrapping.

    An empty array becomes a one-element ``{0}`` (C has no zero-length arrays); the
    comment (if any) goes on the line above. ``strings``: large byte tables become one
    string literal (C only: C++ wants room for the terminating NUL). ``blobs``: integer
    tables of at least :data:`BLOB_MIN` bytes go into a binary file instead (added to
    ``blobs``, file name -> bytes), see :func:`blob_array`.
    """
    identifier(name)
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values).ravel()
    head = f"/* {comment} */\n" if comment else ""
    if (blobs is not None and ctype in BLOB_DTYPES
            and arr.size * BLOB_DTYPES[ctype].itemsize >= BLOB_MIN):
        text, fname, data = blob_array(ctype, name, arr)
        blobs[fname] = data
        return head + text
    if strings and ctype in _BYTE_TYPES and arr.size >= STRING_TABLE_MIN:
        return head + _byte_string_array(ctype, name, arr)
    if ctype in _INT_RANGE and arr.size and arr.dtype.kind in "iub":
        vals = _int_literals(ctype, arr)
    else:
        vals = [literal(v, ctype) for v in arr]
    if not vals:
        return f"{head}static const {ctype} {name}[1] = {{0}}; /* empty */\n"
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n    ".join(lines)
    return f"{head}static const {ctype} {name}[{len(vals)}] = {{\n    {body}\n}};\n"


# Byte tables this large are written as one string literal of octal escapes: a single
# token for the C compiler instead of one per value (parses several times faster).
STRING_TABLE_MIN = 4096
_BYTE_TYPES = {"int8_t": (-128, 127), "uint8_t": (0, 255)}
_INT_RANGE = {"int8_t": (-(1 << 7), (1 << 7) - 1), "uint8_t": (0, (1 << 8) - 1),
              "int16_t": (-(1 << 15), (1 << 15) - 1), "uint16_t": (0, (1 << 16) - 1),
              "int32_t": (-(1 << 31), (1 << 31) - 1), "int64_t": (-(1 << 63), (1 << 63) - 1)}


# Integer tables of at least this many bytes are stored in a binary file beside model.c
# that the assembler includes verbatim (.incbin): the C compiler never parses their
# values, so emitting and building a model stays fast and linear in its size (tens of
# millions of weights); smaller tables stay self-contained in model.c.
BLOB_MIN = 64 * 1024
BLOB_ALIGN = 16  # bytes: at least what GCC gives a large static array (SIMD loads)
BLOB_DTYPES = {"int8_t": np.dtype("<i1"), "uint8_t": np.dtype("<u1"),
               "int16_t": np.dtype("<i2"), "uint16_t": np.dtype("<u2"),
               "int32_t": np.dtype("<i4"), "int64_t": np.dtype("<i8")}
# Emitted once before the first blob: the files are little-endian and included with GNU
# assembler syntax, so any other compiler or byte order stops the build here.
BLOB_PRELUDE = (
    "#if !defined(__GNUC__) || !defined(__BYTE_ORDER__) || "
    "__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n"
    '#error "snnc: large tables are little-endian .incbin files: GCC or Clang on a '
    'little-endian target required"\n#endif\n')


def blob_array(ctype: str, name: str, arr: np.ndarray) -> tuple[str, str, bytes]:
    """A const table as a binary file the assembler includes: (C text, file name, bytes).

    The C text is a top-level ``__asm__`` that places the file's bytes in their own
    ``.rodata.snnc_blob.<name>`` section (so ``--gc-sections`` still drops an unused
    table), aligned to :data:`BLOB_ALIGN`, under a local symbol ``name`` of the table's
    exact size (the assembler stops with an error if the file has another length), and
    an ``extern`` declaration of it. The file name carries a hash of the bytes, so any
    build cache keyed on model.c sees a changed table; it is found through the build
    directory's ``-I`` (GCC passes include folders to the assembler)."""
    import hashlib

    identifier(name)
    lo, hi = _INT_RANGE[ctype]
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise SnncError(f"a value of table '{name}' is out of range for {ctype}")
    data = np.ascontiguousarray(arr).astype(BLOB_DTYPES[ctype]).tobytes()  # range checked
    fname = f"{name}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    n = arr.size
    text = (f"/* {name}: {n} x {ctype} ({len(data)} bytes, little-endian) in {fname}, "
            "included by the assembler: no C to parse */\n"
            f'__asm__(".section .rodata.snnc_blob.{name},\\"a\\",%progbits\\n"\n'
            f'        "\\t.balign {BLOB_ALIGN}\\n"\n'
            f'        "\\t.type {name}, %object\\n"\n'
            f'        "{name}:\\n"\n'
            f'        "\\t.incbin \\"{fname}\\"\\n"\n'
            f'        "\\t.if . - {name} != {len(data)}\\n"\n'
            f'        "\\t.error \\"{fname}: expected {len(data)} bytes\\"\\n"\n'
            f'        "\\t.endif\\n"\n'
            f'        "\\t.size {name}, {len(data)}\\n"\n'
            f'        "\\t.previous\\n");\n'
            f"extern const {ctype} {name}[{n}] __attribute__((aligned({BLOB_ALIGN})));\n")
    return text, fname, data


def _int_literals(ctype: str, arr: np.ndarray) -> list[str]:
    """:func:`int_literal` of every value, vectorized (range-checked for ``ctype``)."""
    lo, hi = _INT_RANGE[ctype]
    a = arr.astype(np.int64) if arr.dtype.kind != "u" else arr
    if int(a.min()) < lo or int(a.max()) > hi:
        raise SnncError(f"a value of table for {ctype} is out of range [{lo}, {hi}]")
    out = [str(v) for v in a.tolist()]
    if ctype in ("int32_t", "int64_t"):
        out = [int_literal(int(v)) if (v == -(1 << 31) or v > (1 << 31) - 1 or v < -(1 << 31))
               else o for v, o in zip(a.tolist(), out)] if (
                   int(a.min()) <= -(1 << 31) or int(a.max()) > (1 << 31) - 1) else out
    return out


def _byte_string_array(ctype: str, name: str, arr: np.ndarray) -> str:
    """``static const int8_t name[N] = "\\ooo...";``: C99 initializes a character-type
    array from a string literal; with exactly N characters no terminating NUL is kept."""
    lo, hi = _BYTE_TYPES[ctype]
    if int(arr.min()) < lo or int(arr.max()) > hi:
        raise SnncError(f"a value of table '{name}' is out of range for {ctype}")
    b = (arr.astype(np.int64) & 0xFF).astype(np.uint8).tobytes()
    esc = ["\\%03o" % x for x in range(256)]
    rows = ['    "' + "".join(esc[x] for x in b[i:i + 32]) + '"' for i in range(0, len(b), 32)]
    # ISO C99 only promises 4095-character literals; GCC and Clang take any length.
    return ("#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n"
            f"#endif\nstatic const {ctype} {name}[{len(b)}] =\n" + "\n".join(rows) + ";\n")


def c_string(text: str) -> str:
    """``text`` as the body of a C string literal or comment: printable ASCII only, with
    quotes and backslashes escaped and ``*/`` broken up (``* /``)."""
    out = []
    for ch in str(text):
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out).replace("*/", "* /")
