#!/usr/bin/env bash
# Create .venv (if missing) and install maskgen core and every plugin into it, editable, with pip.
# Safe to run again: it only reinstalls when a pyproject.toml changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${MASKGEN_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "creating virtual environment $venv" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi

stamp="$venv/.maskgen-installed"
inputs=$(cat pyproject.toml plugins/*/pyproject.toml examples/*/pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  exit 0
fi

echo "installing maskgen and its plugins into $venv (first time: a few minutes)" >&2
# torch and torchvision pinned to the pair that works on CPU-only machines and GPUs alike here.
"$venv/bin/pip" install -q "torch==2.14.1" "torchvision==0.29.1"
editables=(-e ".[dev,studio]")
for plugin in plugins/*/ examples/*/; do
  [ -f "$plugin/pyproject.toml" ] && editables+=(-e "$plugin")
done
"$venv/bin/pip" install -q "${editables[@]}"
echo "$inputs" > "$stamp"
