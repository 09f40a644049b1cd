#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv with the given extras.
# Usage: scripts/venv.sh [EXTRAS]   e.g. scripts/venv.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
extras=${1:-}

if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  # Debian/Ubuntu ship venv/ensurepip separately.
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
if [ -n "$extras" ]; then
  "$VENV/bin/python" -m pip install -q -e ".[$extras]"
else
  "$VENV/bin/python" -m pip install -q -e .
fi
