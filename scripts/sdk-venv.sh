#!/usr/bin/env bash
# Create .venv-sdk with the official Scaleway Python SDK pinned for the
# emulator's conformance test, and print the interpreter path
# (export it as FLEET_SDK_PYTHON).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-sdk"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "scaleway==2.12.0" >&2
echo "$venv/bin/python"
