#!/usr/bin/env bash
# The figure of `mlib identify` (issue 22's budget: one 64-frame clip answered in under 2 s on a 2-core CPU at the
# default size, model loading included). It enrols CLIP into a gallery of its own with RUN, then times the whole
# `mlib identify` command, start-up included, RUNS times (default 7), plainly and under `nice`, and prints min, median
# and max of wall and CPU seconds. Quote the median; CPU seconds do not grow when other processes share the cores,
# wall seconds do: run `uptime` beside it and say the load.
#
#   book/bench/identify.sh RUN CLIP [RUNS]
#   e.g. book/bench/identify.sh results/default/casme2/runs/<hash> data/synthetic/casme2/CASME2_RAW_selected/sub12/EP01_01f
#
# Uses farm-bench where it is on PATH (it times from outside and prints min/median/max), else bash's `time`.
set -euo pipefail
run=${1:?usage: book/bench/identify.sh RUN CLIP [RUNS]}
clip=${2:?usage: book/bench/identify.sh RUN CLIP [RUNS]}
runs=${3:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mlib enroll --run "$run" --out "$work/gallery.npz" "probe=$clip" >/dev/null
echo "load before: $(uptime)"
for prefix in "" "nice"; do
  echo "== mlib identify ${prefix:+(under $prefix)}"
  if command -v farm-bench >/dev/null; then
    farm-bench -n "$runs" --timeout 600 -- $prefix mlib identify --gallery "$work/gallery.npz" "$clip" | tail -6
  else
    TIMEFORMAT="wall %R s  cpu %U+%S s"
    for _ in $(seq "$runs"); do time $prefix mlib identify --gallery "$work/gallery.npz" "$clip" >/dev/null; done
  fi
done
echo "load after: $(uptime)"
