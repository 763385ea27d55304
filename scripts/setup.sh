#!/usr/bin/env bash
# Sets up everything snnc needs on a fresh Debian/Ubuntu machine, idempotently:
# system toolchains (when run as root with apt), a virtualenv in .venv with snnc and its
# test + training extras. Safe to re-run; quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS="gcc g++ make cmake gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-system-arm qemu-user openssh-client libwrap0 tcl"
need_apt=0
for tool in cmake arm-none-eabi-gcc aarch64-linux-gnu-gcc qemu-system-arm qemu-aarch64 ssh scp tclsh; do
  command -v "$tool" >/dev/null 2>&1 || need_apt=1
done
# libwrap0: the unpacked sshd below links it.
/sbin/ldconfig -p 2>/dev/null | grep -q "libwrap.so.0 " || need_apt=1
if [ "$need_apt" = 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing toolchains with apt: $APT_PKGS" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PKGS >/dev/null
  else
    echo "setup: cross toolchains/emulators missing and apt unavailable; the host target is used, cross tests are skipped" >&2
  fi
fi

# An SSH "device" for tests/targets/test_ssh.py: Debian's sshd unpacked into .venv/openssh
# (installing the package would start a system sshd on port 22) and its privilege-
# separation user. Without them the SSH tests skip with a reason.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  if [ ! -x .venv/openssh/usr/sbin/sshd ]; then
    tmp=$(mktemp -d)
    if (cd "$tmp" && { apt-get download -qq openssh-server openssh-sftp-server 2>/dev/null \
          || { apt-get update -qq && apt-get download -qq openssh-server openssh-sftp-server; }; }) >/dev/null 2>&1; then
      mkdir -p .venv/openssh
      for deb in "$tmp"/*.deb; do dpkg -x "$deb" .venv/openssh; done
    else
      echo "setup: could not fetch openssh-server; SSH device tests will skip" >&2
    fi
    rm -rf "$tmp"
  fi
  getent passwd sshd >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /run/sshd \
    --shell /usr/sbin/nologin sshd 2>/dev/null || true
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.snnc-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing snnc and its dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  # The CPU build of torch (training extra) first, so the range in pyproject takes it.
  .venv/bin/python -m pip install -q "torch==2.13.0" || echo "setup: torch unavailable; training and torch-agreement tests will skip" >&2
  # Core + tests must install; the extras are tried together, then one by one, so one
  # extra that cannot install (e.g. a missing wheel) does not drop the others. Tests that
  # need a missing extra skip with a reason.
  .venv/bin/python -m pip install -q -e ".[test]"
  extras="train lsm vpr bench baselines fit frameworks"
  if ! .venv/bin/python -m pip install -q -e ".[$(echo $extras | tr ' ' ',')]"; then
    for x in $extras; do
      .venv/bin/python -m pip install -q -e ".[$x]" || echo "setup: extra [$x] failed to install; its tests will skip" >&2
    done
  fi
  touch "$stamp"
fi

# Fill the smartwatch build caches (runtime objects, startup, empty size probe, compiled
# templates) so the first `snnc compile --target smartwatch` builds only the model.
if command -v arm-none-eabi-gcc >/dev/null 2>&1 && [ -x .venv/bin/python ]; then
  .venv/bin/python -m snnc.targets.smartwatch.build --warm-cache \
    || echo "setup: smartwatch cache warm-up failed; the first compile builds the caches" >&2
fi
