#!/bin/bash
# The GPU check (issue 23): one call of at most 8 minutes on a GPU machine, from the repository
# root of its copy of the checkout. `mlib bench` at the `full` profile's size (SlowFast R50,
# 64 frames x 224 px, batch 16), plain path then fast path (bf16, channels_last_3d,
# torch.compile, clips resident on the GPU): compilation (warm-up) timed apart from the
# steady-state steps, peak memory, FLOP/s and MFU, the input pipeline's share of a step and
# the GPU's busy fraction. Writes $OUT/bench.json after each path (a fast path cut off by the
# time limit keeps the plain figures) and $OUT/nvidia-smi.txt. Then, on this machine:
#   cp FILES_AT/bench.json book/bench/<card>.json
#   mlib cost book/bench/*.json > book/performance.md
# Usage: bash book/bench/gpu-check.sh [quick]
#   quick: a tiny model on the CPU with this machine's Python ($PY, default python3); the
#   test suite runs it (tests/test_bench.py), so the script is known to work before a lease.
# On the device: wheels of what its Python lacks in .whl/ (pip download on this machine),
# installed without an index; the checkout itself is imported from PYTHONPATH.
set -euo pipefail
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
if [ "${1:-}" = quick ]; then
  PY=${PY:-python3}
  ARGS=(--device cpu --steps 1 --warmup 1 --modes plain --batch-size 2
        --set model.depth=18 --set model.width=8 --set model.frames=8 --set model.size=32)
else
  PY=python3
  if ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=$PYTHONPATH:/tmp/site
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,temperature.gpu --format=csv | tee "$OUT/nvidia-smi.txt"
  ARGS=(--device cuda --steps 6 --warmup 2)
fi
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
started=$(date +%s)
status=0
timeout "${BENCH_TIMEOUT:-450}" $PY -m mlib.commands.cli bench --profile configs/profiles/full.yaml "${ARGS[@]}" \
  --out "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log" || status=$?
echo "gpu-check: bench ended with status $status after $(( $(date +%s) - started )) s; figures in $OUT/bench.json"
exit "$status"
