"""Place-recognition data: the Nordland folder loader, the synthetic route, preprocessing.

Three pieces, one job each:

* :func:`load_nordland` reads a Nordland-style dataset from disk (layout below) into
  ``uint8`` frames of ``image_size`` (28x28 by default, as in VPRSNN).
* :func:`generate_route` builds the benchmark route from natural images shipped in
  scikit-image (``pip install snnc[vpr]``); :func:`load_route` reads the cached copy
  committed beside this file (``route.npz``) so nothing else needs scikit-image.
* :func:`patch_normalize` / :func:`encode` turn frames into the model's input vector.

Folder layout accepted by :func:`load_nordland` (the public "Nordland" releases put one
traversal per season in its own folder, frames named by their index)::

    <root>/<reference>/0000.png  0001.png ...      e.g. <root>/summer/
    <root>/<query>/0000.png      0001.png ...      e.g. <root>/winter/

Frames are ``*.png`` (also ``*.jpg``/``*.jpeg`` when Pillow is installed), sorted by the
integer in their file name (then by name), so ``frame_2.png`` comes before
``frame_10.png``. Frame i of the query traversal shows the same place as frame i of the
reference traversal (Nordland's traversals are frame-aligned), so both folders must hold
the same number of frames. Every frame of a folder must share one size, at least
``image_size``. Colour frames are converted to grey (ITU-R 601 luma).
"""

from __future__ import annotations

import re
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler.errors import FormatError, SnncError, UnsupportedError

IMAGE_SIZE = (28, 28)
PATCH_SIZE = 7
ROUTE_FILE = Path(__file__).with_name("route.npz")
_EXTS = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Route:
    """Frame-aligned traversals of one route: ``frames[name]`` is ``uint8 [P, H, W]``.

    Frame i of every traversal shows place i. ``reference`` is what the model learns;
    the others (e.g. ``calibration``, ``query``) are later visits under changed
    appearance.
    """

    frames: dict[str, np.ndarray]
    source: str = ""

    @property
    def n_places(self) -> int:
        return int(next(iter(self.frames.values())).shape[0])

    def subset(self, n_places: int) -> "Route":
        """The first ``n_places`` places of every traversal (a shorter route)."""
        if not 0 < n_places <= self.n_places:
            raise SnncError(f"n_places must be in 1..{self.n_places}, got {n_places}")
        return Route({k: v[:n_places] for k, v in self.frames.items()}, self.source)


# --------------------------------------------------------------------------- resizing


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] matrix averaging source pixels over each target pixel's footprint."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
    return overlap / (n_in / n_out)


def resize_area(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average resampling of a 2-D float image to ``size`` (h, w)."""
    mh = _area_matrix(img.shape[0], size[0])
    mw = _area_matrix(img.shape[1], size[1])
    return mh @ img @ mw.T


def to_gray(img: np.ndarray) -> np.ndarray:
    """Grey float image in [0, 255] from grey, grey+alpha, RGB or RGBA (alpha dropped)."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[2] in (1, 2):
        return a[..., 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return a[..., :3] @ np.array([0.299, 0.587, 0.114])
    raise SnncError(f"cannot make a grey image from an array of shape {a.shape}")


# --------------------------------------------------------------------------- PNG files
# A minimal PNG codec (8/16-bit grey, grey+alpha, RGB, RGBA; not interlaced) so the loader
# works without Pillow; Pillow, when installed, reads every other variant and JPEG.

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def write_png(path: str | Path, img: np.ndarray) -> None:
    """Write an 8-bit grey ``[H, W]`` or RGB ``[H, W, 3]`` image as PNG (filter 0)."""
    a = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    ctype = 0 if a.ndim == 2 else 2
    h, w = a.shape[:2]
    raw = b"".join(b"\x00" + a[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0)
    data = _PNG_SIG + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(
        b"IEND", b"")
    Path(path).write_bytes(data)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(raw: bytes, h: int, stride: int, bpp: int, path: Path) -> np.ndarray:
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    pos = 0
    for r in range(h):
        ftype = raw[pos]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=pos + 1).astype(np.int64)
        pos += stride + 1
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype == 1:  # Sub: running sum along each byte lane
            cur = np.cumsum(line.reshape(-1, bpp), axis=0).reshape(-1) & 0xFF
        elif ftype in (3, 4):  # Average / Paeth depend on the left neighbour: loop
            cur = line.copy()
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                if ftype == 3:
                    cur[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
                else:
                    ul = prev[i - bpp] if i >= bpp else 0
                    cur[i] = (line[i] + _paeth(int(left), int(prev[i]), int(ul))) & 0xFF
        else:
            raise FormatError(f"corrupt PNG: unknown filter type {ftype} in row {r}", path)
        out[r] = cur
        prev = cur
    return out


def _read_png(path: Path) -> np.ndarray:
    data = path.read_bytes()
    if not data.startswith(_PNG_SIG):
        raise FormatError("not a PNG file", path)
    pos, idat, hdr = 8, [], None
    try:
        while pos < len(data):
            (n,) = struct.unpack(">I", data[pos:pos + 4])
            tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
            pos += 12 + n
            if tag == b"IHDR":
                hdr = struct.unpack(">IIBBBBB", body)
            elif tag == b"IDAT":
                idat.append(body)
            elif tag == b"IEND":
                break
        if hdr is None:
            raise FormatError("PNG without IHDR chunk", path)
        w, h, depth, ctype, _, _, interlace = hdr
        if ctype not in _CHANNELS or depth not in (8, 16) or interlace:
            raise UnsupportedError(
                f"{path}: PNG colour type {ctype}, bit depth {depth}, interlace {interlace} "
                "needs Pillow (pip install pillow)")
        ch, nbytes = _CHANNELS[ctype], depth // 8
        raw = zlib.decompress(b"".join(idat))
        if len(raw) != h * (w * ch * nbytes + 1):
            raise FormatError("truncated PNG image data", path)
    except (struct.error, zlib.error) as e:
        raise FormatError(f"corrupt PNG ({e})", path) from None
    px = _unfilter(raw, h, w * ch * nbytes, ch * nbytes, path)
    if nbytes == 2:
        px = (px.reshape(h, w * ch, 2).astype(np.uint16) @ np.array([256, 1], np.uint16))
        px = (px >> 8).astype(np.uint8)
    return px.reshape(h, w, ch) if ch > 1 else px.reshape(h, w)


def read_image(path: str | Path) -> np.ndarray:
    """Read one frame as a grey float image in [0, 255] (Pillow if installed, else PNG)."""
    path = Path(path)
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        try:
            with Image.open(path) as im:
                return to_gray(np.asarray(im.convert("L")))
        except (OSError, ValueError) as e:
            raise FormatError(f"cannot read image ({e})", path) from None
    if path.suffix.lower() != ".png":
        raise UnsupportedError(f"{path}: reading {path.suffix} frames needs Pillow "
                               "(pip install pillow)")
    return to_gray(_read_png(path))


# --------------------------------------------------------------------------- loader


def _frame_key(p: Path) -> tuple[int, str]:
    nums = re.findall(r"\d+", p.stem)
    return (int(nums[-1]) if nums else -1, p.name)


def list_frames(folder: str | Path) -> list[Path]:
    """The frames of one traversal folder in frame order; error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError("traversal folder does not exist", folder)
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in _EXTS), key=_frame_key)
    if not files:
        raise FormatError(f"no frames ({', '.join(_EXTS)}) in traversal folder", folder)
    return files


def load_traversal(folder: str | Path, image_size: tuple[int, int] = IMAGE_SIZE,
                   limit: int | None = None) -> np.ndarray:
    """Read one traversal folder into ``uint8 [P, *image_size]`` (grey, area-resized)."""
    files = list_frames(folder)[:limit]
    out = np.empty((len(files), *image_size), dtype=np.uint8)
    first_shape = None
    for i, f in enumerate(files):
        img = read_image(f)
        if first_shape is None:
            first_shape = img.shape
            if img.shape[0] < image_size[0] or img.shape[1] < image_size[1]:
                raise FormatError(f"frame is {img.shape[1]}x{img.shape[0]} pixels, smaller "
                                  f"than the model's {image_size[1]}x{image_size[0]}", f)
        elif img.shape != first_shape:
            raise FormatError(f"frame is {img.shape[1]}x{img.shape[0]} pixels but the "
                              f"traversal's first frame is {first_shape[1]}x{first_shape[0]}",
                              f)
        out[i] = np.clip(np.round(resize_area(img, image_size)), 0, 255).astype(np.uint8)
        if len(files) > 200 and (i + 1) % 200 == 0:
            print(f"vpr: read {i + 1}/{len(files)} frames of {folder}", file=sys.stderr)
    return out


def load_nordland(root: str | Path, reference: str = "summer", query: str = "winter",
                  calibration: str | None = None, image_size: tuple[int, int] = IMAGE_SIZE,
                  limit: int | None = None) -> Route:
    """Load frame-aligned traversals ``<root>/<reference>`` and ``<root>/<query>``.

    ``calibration`` optionally names a third traversal (another season) used to choose
    the hyperactive-neuron threshold. See the module docstring for the layout.
    """
    root = Path(root)
    if not root.is_dir():
        raise FormatError("dataset root does not exist", root)
    names = {"reference": reference, "query": query}
    if calibration:
        names["calibration"] = calibration
    frames = {k: load_traversal(root / v, image_size, limit) for k, v in names.items()}
    counts = {names[k]: len(v) for k, v in frames.items()}
    if len(set(counts.values())) != 1:
        raise FormatError(f"traversals are not frame-aligned: frame counts {counts}", root)
    return Route(frames, source=f"nordland:{root}")


# --------------------------------------------------------------------------- preprocessing


def patch_normalize(frames: np.ndarray, patch: int = PATCH_SIZE) -> np.ndarray:
    """Patch normalization (VPRSNN/SeqSLAM): each pixel minus the mean, over the std, of
    the ``patch`` x ``patch`` neighbourhood around it (edge-padded). ``[N,H,W]`` float."""
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    r = patch // 2
    xp = np.pad(x, ((0, 0), (r, r), (r, r)), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(xp, (patch, patch), axis=(1, 2))
    mean = win.mean(axis=(-1, -2))
    std = win.std(axis=(-1, -2))
    return (x - mean) / np.maximum(std, 1.0)  # std floor: flat patches stay ~0, not noise


def encode(frames: np.ndarray, image_size: tuple[int, int] = IMAGE_SIZE,
           patch: int = PATCH_SIZE) -> np.ndarray:
    """Model input: patch-normalized frames flattened and scaled to unit L2 norm, so
    that a synapse row of unit norm computes a cosine similarity. ``[N, H*W]``."""
    f = np.asarray(frames)
    if f.ndim == 2:
        f = f[None]
    if f.ndim != 3 or tuple(f.shape[1:]) != tuple(image_size):
        raise SnncError(f"frames must have shape [N, {image_size[0]}, {image_size[1]}] "
                        f"(resize with models.vpr.data.resize_area), got {list(f.shape)}")
    x = patch_normalize(f, patch).reshape(f.shape[0], -1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# --------------------------------------------------------------------------- route


def load_route(path: str | Path = ROUTE_FILE) -> Route:
    """The cached benchmark route (``route.npz``: one ``uint8 [P, 28, 28]`` per traversal)."""
    path = Path(path)
    if not path.exists():
        raise FormatError("route file missing (regenerate: python -m snnc.models.vpr.data)", path)
    try:
        with np.load(path, allow_pickle=False) as z:
            frames = {k: z[k] for k in z.files if k != "source"}
            source = str(z["source"]) if "source" in z.files else ""
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(f"corrupt route file ({e})", path) from None
    if "reference" not in frames or len({v.shape for v in frames.values()}) != 1:
        raise FormatError("route file needs frame-aligned 'reference' and query traversals",
                          path)
    return Route(frames, source)


def save_route(route: Route, path: str | Path = ROUTE_FILE) -> None:
    """Write ``route`` as a compressed ``.npz`` atomically."""
    from snnc.compiler.ir.serialize import atomic_write

    atomic_write(path, lambda f: np.savez_compressed(
        f, source=np.array(route.source), **route.frames))


# Natural images bundled inside the scikit-image wheel (no download at run time).
SOURCE_IMAGES = ("astronaut", "camera", "coffee", "chelsea", "rocket", "brick", "grass",
                 "gravel", "moon", "coins", "hubble_deep_field", "immunohistochemistry")

# Appearance of each traversal: gamma, contrast gain, brightness offset (fraction of
# 255), illumination-gradient strength, noise std (fraction of 255), max shift (pixels
# of the 56-pixel view), blur passes. Reference = clean "summer" pass.
TRAVERSALS = {
    "reference": dict(gamma=1.0, gain=1.0, offset=0.0, shade=0.0, noise=0.01, shift=0, blur=0),
    "calibration": dict(gamma=0.6, gain=0.8, offset=0.1, shade=0.35, noise=0.05, shift=2,
                        blur=1),
    "query": dict(gamma=1.7, gain=0.7, offset=-0.05, shade=0.35, noise=0.05, shift=2, blur=1),
}


def _views(img: np.ndarray, view: int, stride: int, rows: int) -> list[tuple[int, int]]:
    """Top-left corners of a serpentine walk over ``img`` (consecutive views overlap)."""
    h, w = img.shape
    ys = np.linspace(0, h - view, rows).round().astype(int)
    xs = list(range(0, w - view + 1, stride))
    out = []
    for r, y in enumerate(ys):
        for x in (xs if r % 2 == 0 else xs[::-1]):
            out.append((int(y), int(x)))
    return out


def _appearance(crop: np.ndarray, rng: np.random.Generator, p: dict) -> np.ndarray:
    """Apply one traversal's appearance change (per-frame jittered) to a [0,1] crop."""
    g = p["gamma"] * np.exp(rng.normal(0, 0.1)) if p["gamma"] != 1.0 else 1.0
    x = crop ** g
    x = p["gain"] * (1 + rng.normal(0, 0.05)) * (x - 0.5) + 0.5 + p["offset"]
    if p["shade"]:
        # A soft shadow/illumination ramp in a random direction.
        ang = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:crop.shape[0], 0:crop.shape[1]] / crop.shape[0] - 0.5
        x = x * (1 + p["shade"] * (np.cos(ang) * xx + np.sin(ang) * yy) * 2)
    for _ in range(p["blur"]):
        x = (x + np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 5
    x = x + rng.normal(0, p["noise"], x.shape)
    return np.clip(x, 0, 1)


def generate_route(images: tuple[str, ...] = SOURCE_IMAGES, seed: int = 0,
                   view: int = 56, stride: int = 14, rows: int = 3, side: int = 196,
                   image_size: tuple[int, int] = IMAGE_SIZE,
                   traversals: dict[str, dict] | None = None) -> Route:
    """A route of places over scikit-image's natural images, one traversal per season.

    Each source image (grey, resized to ``side`` x ``side``) is walked in a serpentine of
    ``rows`` rows of ``view``-pixel views, ``stride`` pixels apart (33 places per image
    with the defaults; 12 images -> 396 places). Each traversal revisits every view
    shifted by up to ``shift`` pixels and with its appearance change (gamma, contrast,
    brightness, illumination ramp, blur, noise), then area-resizes it to ``image_size``.
    """
    try:
        import skimage.data as skd
    except ImportError:
        raise SnncError("generating the route needs scikit-image: pip install 'snnc[vpr]' "
                        "(the cached models/vpr/route.npz does not)") from None
    traversals = traversals or TRAVERSALS
    rng = np.random.default_rng(seed)
    pages = []
    for name in images:
        img = to_gray(getattr(skd, name)()) / 255.0
        pages.append(resize_area(img, (side, side)))
    frames: dict[str, list[np.ndarray]] = {k: [] for k in traversals}
    pad = max(p["shift"] for p in traversals.values())
    for page in pages:
        padded = np.pad(page, pad, mode="reflect")
        for y, x in _views(page, view, stride, rows):
            for name, p in traversals.items():
                dy, dx = rng.integers(-p["shift"], p["shift"] + 1, 2) if p["shift"] else (0, 0)
                crop = padded[pad + y + dy:pad + y + dy + view, pad + x + dx:pad + x + dx + view]
                img = _appearance(crop, rng, p)
                small = resize_area(img, image_size) * 255.0
                frames[name].append(np.clip(np.round(small), 0, 255).astype(np.uint8))
    # Non-default walks are named in the source (the default one keeps the name the
    # committed model records).
    walk = "" if (view, stride, rows, side) == (56, 14, 3, 196) else (
        f":view={view},stride={stride},rows={rows},side={side}")
    return Route({k: np.stack(v) for k, v in frames.items()},
                 source=f"skimage:{','.join(images)}:seed={seed}{walk}")


if __name__ == "__main__":
    r = generate_route()
    save_route(r)
    print(f"{ROUTE_FILE}: {r.n_places} places, traversals {sorted(r.frames)}", file=sys.stderr)
