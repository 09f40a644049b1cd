#!/usr/bin/env bash
# README set-up command 1: install into .venv and run the simulated room (no hardware needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh collector
exec .venv/bin/hntht-agent demo "$@"
