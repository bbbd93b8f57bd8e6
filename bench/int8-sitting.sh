#!/bin/sh
# The int8 sitting of docs/BENCHMARKS.md ("int8 inference"): rnnkit float32,
# rnnkit int8, PyTorch float32 and PyTorch int8 (quantize_dynamic) on W3
# inference and W4 greedy decoding, alternating, the order rotated each
# repetition. Prints one line per run (the Go benchmark line or the PyTorch
# JSON line); summarise per-CPU-second and wall ratios from them.
#
#   sh bench/int8-sitting.sh [reps] > raw.txt      (from the module root)
set -e
reps=${1:-3}
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd sentiment && go test -c -o "$tmp/sent.test" .)
(cd seq2seq && go test -c -o "$tmp/s2s.test" .)
run() {
  case "$1" in
    W3f) "$tmp/sent.test" -test.run '^$' -test.bench '^BenchmarkW3Infer$' -test.benchtime 2x | grep Bench ;;
    W3q) "$tmp/sent.test" -test.run '^$' -test.bench '^BenchmarkW3InferInt8$' -test.benchtime 2x | grep Bench ;;
    W3p) $py bench/pytorch/w3.py --steps 0 --warmup 1 --infer-batches 1 ;;
    W3pq) $py bench/pytorch/w3.py --quantize int8 --warmup 1 --infer-batches 1 ;;
    W4f) "$tmp/s2s.test" -test.run '^$' -test.bench '^BenchmarkW4Greedy$' -test.benchtime 1x | grep Bench ;;
    W4q) "$tmp/s2s.test" -test.run '^$' -test.bench '^BenchmarkW4GreedyInt8$' -test.benchtime 1x | grep Bench ;;
    W4p) $py bench/pytorch/w4.py --steps 0 --warmup 1 --infer-batches 1 ;;
    W4pq) $py bench/pytorch/w4.py --quantize int8 --warmup 1 --infer-batches 1 ;;
  esac
}
rep=1
while [ $rep -le "$reps" ]; do
  case $((rep % 3)) in
    1) order="W3f W3q W3p W3pq W4f W4q W4p W4pq" ;;
    2) order="W3pq W3p W3q W3f W4pq W4p W4q W4f" ;;
    0) order="W3q W3pq W3f W3p W4q W4pq W4f W4p" ;;
  esac
  for w in $order; do
    echo "rep$rep $w $(date +%T) $(run $w | tr '\n' ' ')"
  done
  rep=$((rep + 1))
done
