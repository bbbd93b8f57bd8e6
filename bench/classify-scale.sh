#!/bin/sh
# Classify at scale (docs/BENCHMARKS.md, "Classifying 25,000 review files"):
# writes each review of a Text<TAB>Label file (the IMDB training set: 25,000
# lines) as its own file, and a second directory with four copies of them
# (100,000 files), then classifies both with the embedded default model on
# two cores and on one, printing wall time, CPU and peak RSS of each run.
#
#   bench/classify-scale.sh /path/to/imdb/train.tsv [WORKDIR]
#
# Needs GNU time at /usr/bin/time. WORKDIR (default /tmp/rnnkit-classify)
# receives the files, the binary and the outputs.
set -e
TSV=${1:?usage: bench/classify-scale.sh REVIEWS.tsv [WORKDIR]}
D=${2:-/tmp/rnnkit-classify}
mkdir -p "$D"
if [ ! -d "$D/r25k" ]; then
  mkdir -p "$D/r25k"
  awk -F'\t' -v d="$D/r25k" '{ f = sprintf("%s/%05d.txt", d, NR); printf "%s\n", $1 > f; close(f) }' "$TSV"
fi
if [ ! -d "$D/r100k" ]; then
  for k in 0 1 2 3; do mkdir -p "$D/r100k/$k"; cp "$D"/r25k/*.txt "$D/r100k/$k/"; done
fi
go build -o "$D/rnnkit" ./cmd/rnnkit
for dir in r25k r100k; do
  for p in 2 1; do
    echo "== $dir GOMAXPROCS=$p"
    GOMAXPROCS=$p /usr/bin/time -f "wall %e s, user %U s, sys %S s, CPU %P, max RSS %M KiB" \
      "$D/rnnkit" classify --json "$D/$dir" > "$D/out-$dir-$p.jsonl" 2> "$D/err-$dir-$p.txt" || true
    tail -2 "$D/err-$dir-$p.txt"
  done
done
