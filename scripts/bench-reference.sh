#!/usr/bin/env bash
# Our CPU training speed on the CelebA-64 network beside the PyTorch
# reference (shared/reference/csvae64.py) at the same batch and thread
# count, measured one after the other on this machine, and their ratio.
#
#   scripts/bench-reference.sh [THREADS] [REFERENCE.py]
#
# Needs python3 with torch (Debian: apt-get install python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
ref=${2:-../shared/reference/csvae64.py}
[ -f "$ref" ] || { echo "reference $ref not found; pass its path as the second argument" >&2; exit 1; }
py=""
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "no python3 with torch here (Debian: apt-get install -y python3-torch)" >&2; exit 1; }
bin=bin/csvae-gpu
go build -o "$bin" ./cmd/csvae-gpu

ours=$("$bin" bench --threads "$threads" --filter 'TrainStep/csvae-celeba64 .*batch 64$' --min-time 20s --format markdown | awk -F'|' '/celeba64/ {print $5}' | awk '{print $1}')
theirs=$("$py" "$ref" --device cpu --batch 64 --steps 20 --warmup 3 --threads "$threads" | sed -n 's/.*train_images_per_s=\([0-9.]*\).*/\1/p')
echo "threads=$threads batch=64 csvae CelebA-64 training images/s: csvae-gpu $ours, PyTorch $("$py" -c 'import torch; print(torch.__version__)') $theirs, ratio $(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a/b}')"
