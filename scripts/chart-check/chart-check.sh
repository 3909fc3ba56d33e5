#!/usr/bin/env bash
# chart-check.sh — kate's offline Helm checker: the real Helm v4 engine (lint + template) and strict
# Kubernetes JSON-schema validation; see chart_check.py for the options and what each check is.
#
# The first run creates a venv with the pins of requirements.txt (PyPI; ~20 s, ~390 MB: the Helm SDK
# wheel ships its Go engine as a shared library, kubernetes-validate the schemas of 1.25–1.37); later
# runs reuse it until requirements.txt changes. Env: KATE_CHARTS_VENV_HOME (default ~/.cache/kate-chart-check),
# KATE_CHARTS_PYTHON (a Python >= 3.10; default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${KATE_CHARTS_VENV_HOME:-$HOME/.cache/kate-chart-check}"
venv="$home/venv"
python="${KATE_CHARTS_PYTHON:-python3}"
requirements="$here/requirements.txt"

if ! cmp -s "$requirements" "$venv/.kate-requirements" 2>/dev/null; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null ||
    { echo "chart-check: $python is not Python >= 3.10 (set KATE_CHARTS_PYTHON)" >&2; exit 2; }
  echo "chart-check: installing the pinned checker venv into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$home"
  if ! "$python" -m venv "$venv" >&2 ||
     ! "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2; then
    echo "chart-check: could not install $requirements from PyPI into $venv" >&2
    exit 2
  fi
  cp "$requirements" "$venv/.kate-requirements"
fi
exec "$venv/bin/python" "$here/chart_check.py" "$@"
