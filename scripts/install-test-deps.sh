#!/usr/bin/env bash
# Debian packages the test suite needs: real protocol peers and tools.
# Run as root (CI does); a non-root run uses sudo when it can, else says what is missing.
set -euo pipefail

PACKAGES=(
  python3-venv        # the project's virtual environment
  iproute2 nftables   # network namespaces, veth pairs, packet loss for the network probe tests
  socat               # serial pty pairs for the Megatec UPS peer
  snmp                # net-snmp tools (snmpget) to check snmpsim readiness and for benchmarks
  nut-server nut-client  # NUT's own upsd, dummy-ups and nutdrv_qx
  systemd             # systemd-analyze security for the unit hardening gate
  postgresql          # the collector's PostgreSQL backend tests start a throwaway cluster
  chromium            # headless browser test of the collector's readiness board
  openssh-client      # the codec's SSH transport (ssh, ssh-keyscan), as in production
  strace              # which system calls the ssh child makes, against the unit's SystemCallFilter
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: all Debian packages present"
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "install-test-deps: missing ${missing[*]} and not root: install them, then run again" >&2
    exit 1
  fi
fi
echo "install-test-deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
