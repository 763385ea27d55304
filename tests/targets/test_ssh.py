"""The ssh:// device path against a real sshd started on 127.0.0.1 by the test session."""

from __future__ import annotations

import numpy as np
import pytest
from target_helpers import require, standin_reference

from snnc.compiler.errors import SnncError
from snnc.targets.rpi.build import build_binary
from snnc.targets.rpi.run import run_ssh
from snnc.targets.ssh import SshDevice


def _device(sshd, known_hosts=None) -> SshDevice:
    return SshDevice.parse(sshd.url, known_hosts=known_hosts or sshd.known_hosts,
                           identity=sshd.identity)


def test_run_files_returns_remote_exit_code_and_output(sshd, tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text('echo "args:$1"; cat "$0" | wc -l; exit 3\n')
    r = _device(sshd).run_files([script], ["sh", "hello.sh", "x y"])
    assert r.returncode == 3
    lines = r.stdout.splitlines()
    assert lines[0] == "args:x y"  # the argument survived remote shell quoting
    assert int(lines[1]) == 1      # the copied file is really there


def test_unknown_host_key_is_refused(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(SnncError, match="failed"):
        _device(sshd, known_hosts=empty).run_files([], ["true"])


def test_harness_over_ssh_matches_reference(sshd, standin_build, standin_inputs, tmp_path):
    # No aarch64 board here: the same harness source is built for this host and run
    # through the exact ssh path a Raspberry Pi gets (scp, run, collect, clean up).
    require("cc")
    b = build_binary(standin_build, "pi4", out_dir=tmp_path / "host", host=True)
    r = run_ssh(b, standin_inputs, _device(sshd))
    np.testing.assert_array_equal(r.harness.outputs, standin_reference(standin_inputs))
    assert r.harness.step_ns is not None and r.harness.step_ns.size == 3 * 12
    assert np.all(r.harness.step_ns > 0)
