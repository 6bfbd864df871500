#!/bin/bash
# GPU check of issue 11 (run from the repository root of the device's copy of /work/main):
# mlib bench at the full size (plain vs fast), and one full-profile run on a
# CASME II-sized synthetic corpus. Everything it measures goes to $OUT.
# Usage: bash .gpu/run.sh [quick] [bench|train|all]
#   quick: tiny sizes on the CPU, to test this script.
#   bench (default): only the benchmark, alone on the machine: the last lease ran it beside the corpus
#     build and the fast path's compilation did not finish in 230 s; give it the call's whole timeout.
#   train: the corpus and the full-profile run (a second call); all: both, the corpus built meanwhile.
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p $OUT
QUICK=""; [ "${1:-}" = quick ] && { QUICK=quick; shift; }
STAGE=${1:-bench}
if [ -z "$QUICK" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  python3 -c "import pandas, sys; sys.exit(int(pandas.__version__.split('.')[0]) < 3)" \
    || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/opt/pandas*.whl
  export PYTHONPATH=$PWD/.gpu:/tmp/site
  PY=python3
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,temperature.gpu --format=csv | tee $OUT/nvidia-smi.txt
else
  PY=${PY:-python3}
fi
export PYTHONUNBUFFERED=1
cd .gpu
$PY -c "import torch, pandas, pytorchvideo, fvcore; print('torch', torch.__version__, 'pandas', pandas.__version__, 'cuda', torch.cuda.is_available())"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }

# 1. the benchmark: full profile size (R50, 64 frames, 224 px, batch 16), plain vs fast
if [ -z "$QUICK" ]; then
  BENCH="--device cuda --steps 6 --warmup 2"
  RUN="--set train.device=cuda"
  SYNTH="--subjects 26 --clips-per-subject 10 --single-clip-subjects 0 --workers 12"
  PREP="--workers 12 --cropped"
  EPOCHS=${EPOCHS:-6}
else
  BENCH="--device cpu --steps 1 --warmup 1 --modes plain --set model.depth=18 --set model.width=8 --set model.frames=8 --set model.size=32 --batch-size 2"
  RUN="--set train.device=cpu --set model.depth=18 --set model.width=8 --set model.frames=8 --set model.size=32 --set train.compile=false"
  SYNTH="--subjects 4 --clips-per-subject 3 --single-clip-subjects 0 --workers 2"
  PREP="--workers 2 --face-size 64 --cropped"
  EPOCHS=1
fi
if [ "$STAGE" = bench ]; then
  stamp bench
  timeout ${BENCH_TIMEOUT:-480} $PY -m mlib.cli bench --config configs/profiles/full.yaml $BENCH --out $OUT/bench.json 2>&1 | tee $OUT/bench.log
  stamp bench done
  exit 0
fi
D=/tmp/study; rm -rf $D; mkdir -p $D
(
# 2 (in the background while the GPU benchmarks). One full-profile run on a CASME II-sized synthetic corpus (paper size: 26 subjects, 254 clips)
stamp synth
$PY -m mlib.cli synth --layout casme2 --out $D/casme2 $SYNTH || exit 1
stamp prepare
# no face detection: the device's OpenCV has no CascadeClassifier; the whole frame is the face (a cropped release)
ln -s CASME2_RAW_selected $D/casme2/Cropped
$PY -m mlib.cli prepare --dataset casme2 --root $D/casme2 --cache-dir $D/cache $PREP --no-progress || exit 1
CACHE=$(ls -d $D/cache/*/ | head -1)
stamp split $CACHE
$PY -m mlib.cli split --cache $CACHE --protocol kay2023 || exit 1
SPLIT=$(ls $CACHE/splits/*.csv 2>/dev/null | head -1); [ -n "$SPLIT" ] || SPLIT=$(find $D -name "kay2023*.csv" | head -1)
echo data ready
) > $OUT/data.log 2>&1 &
DATA=$!
if [ "$STAGE" = all ]; then
  stamp bench
  timeout ${BENCH_TIMEOUT:-300} $PY -m mlib.cli bench --config configs/profiles/full.yaml $BENCH --out $OUT/bench.json 2>&1 | tee $OUT/bench.log
  stamp bench done
fi

wait $DATA || { tail -20 $OUT/data.log; exit 1; }
CACHE=$(ls -d $D/cache/*/ | head -1); SPLIT=$(ls $CACHE/splits/*.csv | head -1)
stamp train $SPLIT
timeout ${TRAIN_TIMEOUT:-240} $PY -m mlib.cli train --config configs/profiles/full.yaml $RUN --set train.epochs=$EPOCHS \
  --cache $CACHE --split $SPLIT --out $D/runs --name full-casme2 --no-progress 2>&1 | tee $OUT/train.log
cp $D/runs/full-casme2/history.csv $OUT/history.csv 2>/dev/null
cp $D/runs/full-casme2/metrics.json $OUT/metrics.json 2>/dev/null
$PY - <<PY | tee $OUT/corpus.txt
import pandas as pd
split = pd.read_csv("$SPLIT", dtype=str)
print("clips", len(split), "subjects", split["subject"].nunique(), dict(split["part"].value_counts()))
PY
stamp done
