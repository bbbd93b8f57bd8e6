#!/bin/sh
# CPU profiles of the rnnkit side of workloads W1-W4 (docs/BENCHMARKS.md,
# "What limits each workload"): each package's test binary runs its
# benchmark with -test.cpuprofile, then the top of each profile is printed.
#
#   bench/profiles.sh [OUTDIR] [WORKLOADS]   (default /tmp/rnnkit-prof, W1,W2,W3,W4)
#
# WORKLOADS (for example W4) limits the run to those workloads; W4 also
# profiles beam-5 decoding (w4b).
set -e
P=${1:-/tmp/rnnkit-prof}
W=${2:-W1,W2,W3,W4}
mkdir -p "$P"
want() { case ",$W," in *",$1,"*) return 0;; esac; return 1; }
pkgs=""
want W1 || want W2 && pkgs="$pkgs charrnn"
want W3 && pkgs="$pkgs sentiment"
want W4 && pkgs="$pkgs seq2seq"
for pkg in $pkgs; do go test -c -o "$P/$pkg.test" "./$pkg"; done
cd "$P"
run() { # name package benchmark benchtime
  "./$2.test" -test.run '^$' -test.bench "^$3\$" -test.benchtime "$4" -test.cpuprofile "$1.prof" > "$1.txt"
  echo "=== $1"; grep Bench "$1.txt"
  go tool pprof -top -nodecount=14 "$2.test" "$1.prof" 2>/dev/null | sed -n '5,20p'
}
if want W1; then run w1 charrnn BenchmarkW1TrainStep 20x; fi
if want W2; then run w2 charrnn BenchmarkW2Sample 3000x; fi
if want W3; then run w3t sentiment BenchmarkW3Train 6x; run w3i sentiment BenchmarkW3Infer 10x; fi
if want W4; then run w4t seq2seq BenchmarkW4Train 8x; run w4g seq2seq BenchmarkW4Greedy 10x; run w4b seq2seq BenchmarkW4Beam5 3x; fi
# the shares by category, as the table in docs/BENCHMARKS.md (the
# profiles present)
cd - >/dev/null && python3 bench/profile_table.py "$P"
