#!/usr/bin/env bash
# Peak anonymous resident memory (the heap and stacks, not the mapped image
# cache) of a CelebA-64 csvae training run at batch 64.
#
#   scripts/measure-memory.sh CACHE [STEPS_EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${1:?usage: scripts/measure-memory.sh CACHE}
epochs=${2:-1}
bin=bin/csvae-gpu
go build -o "$bin" ./cmd/csvae-gpu
out=$(mktemp -d)
"$bin" train --model csvae --dataset celeba --data "$cache" --image-size 64 --batch 64 --epochs "$epochs" --out "$out/run" --quiet &
pid=$!
anon=0 file=0
while kill -0 "$pid" 2>/dev/null; do
  if read -r a f < <(awk '/RssAnon/ {a=$2} /RssFile/ {f=$2} END {print a, f}' "/proc/$pid/status" 2>/dev/null); then
    [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
    [ -n "$f" ] && [ "$f" -gt "$file" ] && file=$f
  fi
  sleep 0.2
done
wait "$pid"
rm -rf "$out"
echo "peak RssAnon $((anon / 1024)) MiB (heap, stacks); peak RssFile $((file / 1024)) MiB (binary and mapped cache pages)"
