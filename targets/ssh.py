"""Run a program on a remote Linux board over SSH: scp the files, run, collect, clean up.

Devices are written ``ssh://user@host[:port]``. A device string is untrusted text (it may
come from a script or a shared config), so it is parsed strictly (:meth:`SshDevice.parse`):
``host`` is a DNS name or an IP literal (IPv6 in brackets), ``user`` a POSIX portable
login name, the port 1-65535, and neither user nor host can start with ``-``. Every
ssh/scp call puts ``--`` before the destination so nothing from the device string can be
read as an option (``ssh://-oProxyCommand=...``), and no shell runs locally. Everything
is non-interactive (``BatchMode=yes``) and host keys are always checked
(``StrictHostKeyChecking=yes``) against the known_hosts file you pass (default: OpenSSH's
own), so a board whose key is unknown fails loudly instead of being trusted on first use.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from snnc.compiler.errors import SnncError
from snnc.targets.common import require_tool

_URL = re.compile(r"ssh://(?:(?P<user>[^@/\[\]]*)@)?(?P<host>\[[^\]/@]*\]|[^:/@\[\]]*)"
                  r"(?::(?P<port>[^/]*))?/?")
# POSIX portable user name (IEEE 1003.1 3.437), not starting with '-'.
_USER = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,31}")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# Characters ssh's -o value parser or its %-token expansion would treat specially.
_PATH_BAD = re.compile(r"[\s\"'%\\,]")


def _check_host(host: str, url: str) -> str:
    """A DNS name or an IP literal (IPv6 inside brackets), else SnncError."""
    def bad(why: str) -> SnncError:
        return SnncError(f"bad host in device {url!r}: {why}")

    if host.startswith("["):
        try:
            ip = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise bad("not an IPv6 address inside [...]") from None
        if ip.scope_id is not None:
            raise bad("IPv6 zone ids (%...) are not accepted")
        return str(ip)
    if not host:
        raise bad("empty")
    if host.startswith("-"):
        raise bad("starts with '-'")
    labels = host.split(".")
    if all(x.isdigit() and x.isascii() for x in labels):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise bad("not a valid IPv4 address") from None
    if len(host) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise bad("not a DNS name (letters, digits, inner '-', dot-separated labels)")
    return host


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
        """``ssh://user@host[:port]`` -> SshDevice; SnncError naming the bad part.

        ``user`` (optional: ssh's default otherwise) is a portable login name, ``host`` a
        DNS name or IP literal (``[v6]``), ``port`` 1-65535; nothing else is accepted.
        """
        if not isinstance(url, str) or not url.isascii() or not url.isprintable():
            raise SnncError(f"bad device {url!r}: printable ASCII only "
                            "(expected ssh://user@host[:port])")
        m = _URL.fullmatch(url)
        if not m:
            raise SnncError(f"bad device {url!r} (expected ssh://user@host[:port])")
        user = m.group("user")
        if user is not None and not _USER.fullmatch(user):
            raise SnncError(f"bad user in device {url!r}: use a portable login name "
                            "(letters, digits, '.', '_', '-'; not starting with '-')")
        host = _check_host(m.group("host"), url)
        ps = m.group("port")
        if ps is not None and not (ps.isascii() and ps.isdigit() and len(ps) <= 5
                                   and 0 < int(ps) < 65536):
            raise SnncError(f"bad port in device {url!r}: an integer 1-65535")
        for what, f in (("known_hosts", known_hosts), ("identity", identity)):
            if f is not None and (_PATH_BAD.search(str(f)) or not str(f)):
                raise SnncError(f"{what} path {str(f)!r} must not contain spaces, quotes, "
                                "commas, backslashes or '%'")
        return cls(host=host, user=user, port=int(ps) if ps else 22,
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
        """ssh command running ``remote_argv`` (quoted for the remote shell). ``--`` ends
        the options before the destination, so the destination is never an option."""
        return [require_tool("ssh", "install openssh-client"), "-p", str(self.port),
                *self.options(), "--", self.dest, shlex.join(remote_argv)]

    def scp_command(self, files: list[Path], remote_dir: str) -> list[str]:
        """scp command copying ``files`` into ``remote_dir`` (``--`` before the operands)."""
        return [require_tool("scp", "install openssh-client"), "-q", "-P", str(self.port),
                *self.options(), "--", *map(str, files), f"{self.dest}:{remote_dir}/"]

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
