"""Architecture rules, checked on the source: the import graph between the top-level
folders, lazy baselines, no target names outside the registry, and what `pip install .`
puts into site-packages."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("compiler", "targets", "models", "bench")
# Layers, lowest first: a folder may import only folders listed before it ("cli" is
# cli.py). Models deploy onto targets (LSM on the RRAM chip); bench and the CLI use all.
LAYERS = ("compiler", "targets", "models", "bench", "cli")
HEAVY = ("onnxruntime", "tvm", "ai_edge_litert", "torch")
# Known violations, each with what should become of it. Listed by path prefix; they are
# left out of the checks below, and test_known_violations_are_still_real fails once one is
# fixed, so this list only shrinks.
KNOWN: dict[str, str] = {}


def _known(path: Path) -> bool:
    rel = str(path.relative_to(ROOT))
    return any(rel.startswith(k) for k in KNOWN)


def _sources() -> dict[str, list[Path]]:
    out = {f: sorted((ROOT / f).rglob("*.py")) for f in FOLDERS}
    out["cli"] = [ROOT / "cli.py"]
    return out


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    """Every ``snnc.*`` module imported anywhere in the file (function bodies included:
    a lazy import is still a dependency), with its line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def _folder(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "snnc" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def import_graph(known: bool = False) -> dict[tuple[str, str], list[str]]:
    """(importing folder, imported folder) -> ['file:line', ...] for cross-folder imports
    (of the :data:`KNOWN` files only, with ``known``; else of all others)."""
    edges: dict[tuple[str, str], list[str]] = {}
    for folder, files in _sources().items():
        for f in files:
            if _known(f) != known:
                continue
            for mod, line in _imports(ast.parse(f.read_text(), str(f))):
                dst = _folder(mod)
                if dst is not None and dst != folder:
                    edges.setdefault((folder, dst), []).append(
                        f"{f.relative_to(ROOT)}:{line} imports {mod}")
    return edges


def test_top_level_folders_import_only_lower_layers():
    bad = {e: where for e, where in import_graph().items()
           if LAYERS.index(e[1]) > LAYERS.index(e[0])}
    assert not bad, "\n".join(f"{a} -> {b}: {w[:3]}" for (a, b), w in bad.items())


def test_no_import_circle_between_top_level_folders():
    edges = import_graph()
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reach(src: str) -> set[str]:
        seen, todo = set(), [src]
        while todo:
            for n in graph.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    circles = sorted(a for a in graph if a in reach(a))
    assert not circles, f"folders on an import circle: {circles}; edges: " + "; ".join(
        f"{a}->{b} ({w[0]})" for (a, b), w in edges.items() if a in circles and b in circles)


def _module_level(tree: ast.Module) -> list[ast.stmt]:
    """Statements that run on import: the module body, recursing into if/try/with/class
    but not into function bodies."""
    out, todo = [], list(tree.body)
    while todo:
        s = todo.pop()
        out.append(s)
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            todo += [c for c in getattr(s, field, []) if isinstance(c, (ast.stmt,
                                                                        ast.excepthandler))]
    return out


def lazy_violations(known: bool = False) -> list[str]:
    files = _sources()["compiler"] + _sources()["cli"]
    bad = []
    for f in files:
        if _known(f) != known:
            continue
        for s in _module_level(ast.parse(f.read_text(), str(f))):
            names = ([a.name for a in s.names] if isinstance(s, ast.Import) else
                     [s.module or ""] if isinstance(s, ast.ImportFrom) else [])
            bad += [f"{f.relative_to(ROOT)}:{s.lineno} {n}" for n in names
                    if n.split(".")[0] in HEAVY]
    return bad


def test_baselines_and_torch_are_imported_lazily():
    bad = lazy_violations()
    assert not bad, bad


def _strings(tree: ast.AST) -> list[tuple[str, int]]:
    """String constants that are not docstrings (docs may name a target; code may not)."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            b = node.body
            if b and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant):
                docs.add(id(b[0].value))
    return [(n.value, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def target_name_violations(known: bool = False) -> list[str]:
    from snnc.targets.registry import list_targets

    names = list_targets()
    assert len(names) >= 5
    words = re.compile(r"\b(" + "|".join(re.escape(n) for n in names if n != "host") + r")\b")
    bad = []
    for f in _sources()["compiler"] + _sources()["cli"]:
        if _known(f) != known:
            continue
        for text, line in _strings(ast.parse(f.read_text(), str(f))):
            # "host" is also an English word ("on this host"): only the bare name counts.
            if text == "host" or words.search(text):
                bad.append(f"{f.relative_to(ROOT)}:{line}: {text[:60]!r}")
    return bad


def test_no_target_name_in_compiler_or_cli():
    bad = target_name_violations()
    assert not bad, bad


def test_known_violations_are_still_real():
    """Each KNOWN entry still breaks a rule (remove it from KNOWN once fixed)."""
    found = [w for e, ws in import_graph(known=True).items()
             if LAYERS.index(e[1]) > LAYERS.index(e[0]) for w in ws]
    found += lazy_violations(known=True) + target_name_violations(known=True)
    for k in KNOWN:
        assert any(w.startswith(k) for w in found), f"{k} breaks no rule any more"


def test_the_import_graph_check_can_fail():
    """The checks above see real imports: targets does import compiler."""
    edges = import_graph()
    assert ("targets", "compiler") in edges and ("cli", "targets") in edges


# ------------------------------------------------------------------ packaging


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel . --no-deps --no-build-isolation` from a clean copy of the tracked files."""
    src = tmp_path_factory.mktemp("src")
    # What a fresh clone has: tracked files plus new ones not yet committed (not ignored).
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    out = tmp_path_factory.mktemp("wheel")
    # Offline when this venv can build the wheel itself (setuptools >= 70.1 writes wheels
    # without the wheel package); else pip fetches the build requirements.
    try:
        import setuptools

        local = tuple(int(v) for v in setuptools.__version__.split(".")[:2]) >= (70, 1)
    except (ImportError, ValueError):
        local = False
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(out), *(["--no-build-isolation"] if local else []), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = out.glob("snnc-*.whl")
    return whl


def test_wheel_installs_only_the_snnc_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info",
                                                                          ".data"))}
    assert tops == {"snnc"}, tops
    for must in ("snnc/cli.py", "snnc/compiler/__init__.py", "snnc/targets/registry.py",
                 "snnc/runtime/include/snnc/snnc.h"):
        assert must in names, must
    ep = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "snnc = snnc.cli:main" in zipfile.ZipFile(wheel).read(ep).decode()
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    core = [line for line in text.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert core and not any(h.replace("_", "-") in line.replace("_", "-") or "apache-tvm" in line
                            for line in core for h in HEAVY), core


def test_clean_venv_install_has_no_top_level_compiler_and_a_working_cli(wheel, tmp_path):
    """The wheel into a fresh venv with only the core dependencies (taken from this
    venv's site-packages, so no network): `import compiler` fails, `snnc --help` works,
    and TVM/onnxruntime/LiteRT/torch are not importable there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True,
                          check=True).stdout.strip()
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                        "-q", "--target", site, str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    # The core dependencies (the wheel's Requires-Dist without an extra, and theirs),
    # copied from this venv by distribution.
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    meta = next(n for n in zipfile.ZipFile(wheel).namelist()
                if n.endswith(".dist-info/METADATA"))
    todo = [Requirement(line.split(":", 1)[1].strip()) for line in
            zipfile.ZipFile(wheel).read(meta).decode().splitlines()
            if line.startswith("Requires-Dist:")]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = req.name.lower().replace("-", "_")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            continue  # a platform-specific dependency this machine does not need
        todo += [Requirement(r) for r in dist.requires or ()]
        for f in dist.files or ():
            p = Path(dist.locate_file(f))
            if p.is_file() and ".." not in f.parts:
                dst = Path(site) / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, dst)
    assert "numpy" in seen and not {*HEAVY, "apache_tvm"} & seen, seen
    entry = venv / "bin" / "snnc"
    entry.write_text(f"#!{py}\nfrom snnc.cli import main\nmain()\n")
    entry.chmod(0o755)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run([str(entry), "--help"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and "compile" in r.stdout, r.stderr[-2000:]
    r = subprocess.run([str(py), "-c", "import compiler"], capture_output=True, text=True,
                       env=env, cwd=tmp_path)
    assert r.returncode != 0 and "No module named 'compiler'" in r.stderr
    for mod in HEAVY:
        r = subprocess.run([str(py), "-c", f"import {mod}"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
        assert r.returncode != 0, f"{mod} is importable in the clean venv"
    stray = {"cli", "cli.py", "compiler", "targets", "models", "bench", "runtime"}
    assert not stray & {p.name for p in Path(site).iterdir()}
