"""Run a program on a remote Linux board over SSH: scp the files, run, collect, clean up.

Devices are written ``ssh://user@host[:port]``. Everything is non-interactive
(``BatchMode=yes``) and host keys are always checked (``StrictHostKeyChecking=yes``)
against the known_hosts file you pass (default: OpenSSH's own), so a board whose key is
unknown fails loudly instead of being trusted on first use.
"""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from snnc.compiler.errors import SnncError
from snnc.targets.common import require_tool

_URL = re.compile(r"^ssh://(?:(?P<user>[^@/:]+)@)?(?P<host>\[[^\]]+\]|[^:/@]+)(?::(?P<port>\d+))?/?$")


@dataclass(frozen=True)
class SshDevice:
    """A remote board reachable with OpenSSH's ssh/scp."""

    host: str
    user: str | None = None
    port: int = 22
    known_hosts: Path | None = None
    identity: Path | None = None
    connect_timeout: int = 10

    @classmethod
    def parse(cls, url: str, known_hosts: str | Path | None = None,
              identity: str | Path | None = None) -> "SshDevice":
        """``ssh://user@host[:port]`` -> SshDevice; SnncError naming the bad part."""
        m = _URL.match(url)
        if not m:
            raise SnncError(f"bad device '{url}' (expected ssh://user@host[:port])")
        port = int(m.group("port") or 22)
        if not 0 < port < 65536:
            raise SnncError(f"bad port {port} in device '{url}'")
        return cls(host=m.group("host").strip("[]"), user=m.group("user"), port=port,
                   known_hosts=Path(known_hosts) if known_hosts else None,
                   identity=Path(identity) if identity else None)

    @property
    def dest(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}" if self.user else host

    def options(self) -> list[str]:
        """OpenSSH options shared by ssh and scp."""
        o = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"ConnectTimeout={self.connect_timeout}", "-o", "LogLevel=ERROR"]
        if self.known_hosts:
            o += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.identity:
            o += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        return o

    def ssh_command(self, remote_argv: list[str]) -> list[str]:
        """ssh command running ``remote_argv`` (quoted for the remote shell)."""
        return [require_tool("ssh", "install openssh-client"), "-p", str(self.port),
                *self.options(), self.dest, "--", shlex.join(remote_argv)]

    def scp_command(self, files: list[Path], remote_dir: str) -> list[str]:
        """scp command copying ``files`` into ``remote_dir``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        dest = f"{self.user}@{host}" if self.user else host
        return [require_tool("scp", "install openssh-client"), "-q", "-P", str(self.port),
                *self.options(), *map(str, files), f"{dest}:{remote_dir}/"]

    def _call(self, cmd: list[str], what: str, timeout: float) -> subprocess.CompletedProcess:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SnncError(f"{what} on {self.dest}:{self.port} timed out after "
                            f"{timeout:.0f} s") from None
        if r.returncode == 255:  # ssh's own failure (connection, auth, host key)
            raise SnncError(f"{what} on {self.dest}:{self.port} failed: "
                            f"{r.stderr.strip()[-1000:]}")
        return r

    def run_files(self, files: list[Path], argv: list[str], timeout: float = 600.0
                  ) -> subprocess.CompletedProcess:
        """Copy ``files`` to a fresh remote temp dir, run ``argv`` there, delete the dir.

        ``argv`` items equal to a copied file's name are replaced by its remote path.
        Returns the completed run (remote exit code, stdout, stderr).
        """
        rdir = f"/tmp/snnc-{secrets.token_hex(6)}"
        self._call(self.ssh_command(["mkdir", "-m", "700", rdir]), "mkdir", timeout)
        try:
            r = self._call(self.scp_command(files, rdir), "scp", timeout)
            if r.returncode != 0:
                raise SnncError(f"scp to {self.dest} failed: {r.stderr.strip()[-1000:]}")
            names = {f.name for f in files}
            remote = [f"{rdir}/{a}" if a in names else a for a in argv]
            return self._call(self.ssh_command(remote), "run", timeout)
        finally:
            try:
                self._call(self.ssh_command(["rm", "-rf", rdir]), "cleanup", 60)
            except SnncError:
                pass  # best effort: the run's own error (if any) matters more
