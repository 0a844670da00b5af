#!/usr/bin/env bash
# The CUDA paths in under ten minutes: paper256 StyleGAN2-ADA (16-bit layers, TF32), the cpu recipe on
# the GPU, a CoCosNet paper256 step and the upscaler's training step at 256 px (maskgen upscale train).
# Run it once whenever a GPU is lent; paste what it prints into docs/performance.md ("GPU check").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec timeout 560 .venv/bin/python benchmarks/gpu_check.py "$@"
