"""Fixtures for the device-target tests: the stand-in build, its inputs, a real sshd.

Helpers (stand-in sources and its NumPy reference, tool checks) live in target_helpers.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The test modules here import target_helpers; make it importable however pytest runs.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from target_helpers import ROOT, require, write_standin  # noqa: E402,F401


@pytest.fixture(scope="session")
def standin_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_standin(tmp_path_factory.mktemp("standin"))


@pytest.fixture(scope="session")
def standin_inputs() -> np.ndarray:
    """3 samples x 12 steps of Bernoulli(0.35) spikes, seeded."""
    return (np.random.default_rng(7).random((3, 12, 8)) < 0.35).astype(np.uint8)


# ------------------------------------------------------------------ an sshd "device"


def find_sshd() -> Path | None:
    """sshd from $SNNC_SSHD, PATH, /usr/sbin, or the copy scripts/setup.sh unpacks."""
    cands = [os.environ.get("SNNC_SSHD"), shutil.which("sshd"), "/usr/sbin/sshd",
             str(ROOT / ".venv/openssh/usr/sbin/sshd")]
    for c in cands:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c).resolve()
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SshdInfo:
    """Where the test sshd listens and the files a client needs."""

    def __init__(self, port: int, known_hosts: Path, identity: Path, user: str):
        self.port, self.known_hosts, self.identity, self.user = port, known_hosts, identity, user

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    """A real sshd on 127.0.0.1 (high port) with generated host and user keys; stopped by
    its PID at the end of the session."""
    exe = find_sshd()
    if exe is None:
        pytest.skip("no sshd binary (scripts/setup.sh unpacks Debian's openssh-server)")
    require("ssh", "scp", "ssh-keygen")
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        try:
            pwd.getpwnam("sshd")
        except KeyError:
            pytest.skip("sshd's privilege-separation user 'sshd' is missing (scripts/setup.sh)")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    d = tmp_path_factory.mktemp("sshd")
    os.chmod(d, 0o700)
    hk, uk = d / "host_ed25519", d / "user_ed25519"
    for k in (hk, uk):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(k)], check=True)
    (d / "authorized_keys").write_text(uk.with_suffix(".pub").read_text())
    port = _free_port()
    host_pub = hk.with_suffix(".pub").read_text().split()
    known = d / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    sftp = exe.parent.parent / "lib/openssh/sftp-server"
    cfg = d / "sshd_config"
    cfg.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {hk}",
        f"AuthorizedKeysFile {d / 'authorized_keys'}", f"PidFile {d / 'sshd.pid'}",
        "StrictModes no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "UsePAM no", "PermitRootLogin prohibit-password", "LogLevel ERROR",
        f"Subsystem sftp {sftp}" if sftp.exists() else "Subsystem sftp internal-sftp", ""]))
    check = subprocess.run([str(exe), "-t", "-f", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(f"sshd cannot run here: {check.stderr.strip()[:300]}")
    proc = subprocess.Popen([str(exe), "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"sshd exited: {proc.stderr.read().decode()[:300]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    try:
        yield SshdInfo(port, known, uk, user)
    finally:
        proc.terminate()  # stop exactly the sshd we started (by its PID)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ the model zoo

class ZooCase:
    """One zoo model compiled (int8) into a build dir, with its device inputs and the
    integer simulator's outputs on them."""

    def __init__(self, path: Path, build_dir: Path, x_dev: np.ndarray, ref: np.ndarray,
                 graph: Any = None):
        self.path, self.build_dir, self.x_dev, self.ref = path, build_dir, x_dev, ref
        self.graph = graph  # the quantized graph the build came from


@pytest.fixture(scope="session")
def zoo_case(tmp_path_factory):
    """zoo_case(path) -> ZooCase, compiled once per session per model."""
    cache: dict[Path, ZooCase] = {}

    def get(path: Path) -> ZooCase:
        if path not in cache:
            from snnc.compiler.ir import load
            from snnc.compiler.ir.interpret_int import simulate_int
            from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
            from snnc.models.testsets import load_test_data
            from snnc.targets.benchmark import device_inputs
            from snnc.targets.registry import write_build

            g = load(path)
            data = load_test_data(g, 8, steps=30)
            gq, _ = run_pipeline(g, PassContext(options=CompileOptions(calib_samples=8),
                                                calib=data.x, progress=lambda m: None))
            # Two samples, at most 40 steps: enough to exercise every kernel and state.
            x = device_inputs(gq, data.x[:2, :40])
            node = gq.nodes[gq.inputs[0]]
            res = simulate_int(gq, x.reshape(*x.shape[:2], *node.shape_out()).astype(np.int64))
            ref = np.concatenate([res.outputs[n].reshape(*x.shape[:2], -1)
                                  for n in gq.outputs], axis=2)
            bd = write_build("smartwatch", gq, tmp_path_factory.mktemp(g.name))
            cache[path] = ZooCase(path, bd, x, ref, gq)
        return cache[path]

    return get
