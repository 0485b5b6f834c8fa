#!/usr/bin/env bash
# The GPU check of issue 18: b (raw batched generate), h (the harness's backend) and c (pytest benchmarks) tokens/s
# at batch sizes 1, 16, 64 and auto, with and without prefix reuse, and the largest batch that fits; a random
# ~1.1B Llama built from a config, so it runs with no network and only this repository (see bench/gpu_check.py).
#   bash bench/gpu_check.sh            # on a GPU machine, under 8 minutes
#   bash bench/gpu_check.sh --smoke    # the same steps on a CPU with a 2-layer model (a minute or two)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled
python -c "import torch, transformers, yaml, pydantic" || { echo "needs torch and this repo's [hf] extra"; exit 1; }
out="${OUT:-.}"
exec timeout --signal=INT 470 python bench/gpu_check.py --json "$out/gpu_check.json" "$@"
