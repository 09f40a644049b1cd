#!/usr/bin/env bash
# README set-up command 2: install what the tests need (Debian packages included) and run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
bash scripts/venv.sh test
exec .venv/bin/python -m pytest -q "$@"
