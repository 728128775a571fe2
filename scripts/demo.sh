#!/usr/bin/env bash
# Install Fenghuo into ./.venv and run it on the bundled demo outlets (no internet needed).
# Then open http://127.0.0.1:8000/docs. Arguments go to `fenghuo demo` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_system.sh
source scripts/_venv.sh ""
exec .venv/bin/fenghuo demo "$@"
