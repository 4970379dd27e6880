#!/usr/bin/env bash
# The toy experiment of the paper on the swiss roll: vae, csvae-noadv and
# csvae trained with one recipe, then the KL table of the README.
#
#   scripts/toy.sh [OUT_DIR] [SEED] [EPOCHS]
#
# Uses bin/csvae-gpu (make build). Writes OUT_DIR/<model>/ run directories
# and OUT_DIR/table.md. See README.md, "The toy experiment", for why the
# recipe differs from the plain defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/toy}
seed=${2:-1}
epochs=${3:-100}
bin=bin/csvae-gpu
[ -x "$bin" ] || go build -o "$bin" ./cmd/csvae-gpu

recipe=(--betas 20,1,2,100,1 --adv-balance --adv-lr 3e-3 --lr-decay 0.98)
mkdir -p "$out"
for m in vae csvae-noadv csvae; do
  rm -rf "$out/$m"
  echo "== $m (seed $seed, $epochs epochs)" >&2
  "$bin" train --model "$m" --out "$out/$m" --seed "$seed" --epochs "$epochs" --plot-every 10 --quiet "${recipe[@]}"
done
"$bin" eval --format markdown --run "$out/vae" --run "$out/csvae-noadv" --run "$out/csvae" | tee "$out/table.md"
