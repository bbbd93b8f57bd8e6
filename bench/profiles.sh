#!/bin/sh
# CPU profiles of the rnnkit side of workloads W1-W4 (docs/BENCHMARKS.md,
# "What limits each workload"): each package's test binary runs its
# benchmark with -test.cpuprofile, then the top of each profile is printed.
#
#   bench/profiles.sh [OUTDIR]     (default /tmp/rnnkit-prof)
set -e
P=${1:-/tmp/rnnkit-prof}
mkdir -p "$P"
for pkg in charrnn sentiment seq2seq; do go test -c -o "$P/$pkg.test" "./$pkg"; done
cd "$P"
run() { # name package benchmark benchtime
  "./$2.test" -test.run '^$' -test.bench "^$3\$" -test.benchtime "$4" -test.cpuprofile "$1.prof" > "$1.txt"
  echo "=== $1"; grep Bench "$1.txt"
  go tool pprof -top -nodecount=14 "$2.test" "$1.prof" 2>/dev/null | sed -n '5,20p'
}
run w1 charrnn BenchmarkW1TrainStep 20x
run w2 charrnn BenchmarkW2Sample 3000x
run w3t sentiment BenchmarkW3Train 6x
run w3i sentiment BenchmarkW3Infer 10x
run w4t seq2seq BenchmarkW4Train 8x
run w4g seq2seq BenchmarkW4Greedy 10x
# the shares by category, as the table in docs/BENCHMARKS.md
cd - >/dev/null && python3 bench/profile_table.py "$P"
