#!/usr/bin/env bash
# Interpolation from no eyeglasses to eyeglasses, csvae beside condvae (and
# the vae and condvae-info on their own), from the runs of eyeglasses.sh
# (trained first if missing).
source "$(dirname "$0")/lib.sh"
EXP=$OUT/eyeglasses-$SIZE
[ -f "$EXP/report.md" ] || bash experiments/eyeglasses.sh
mkdir -p "$EXP/grids"
"$BIN" interpolate --run "$EXP/csvae" --run2 "$EXP/condvae" --attr Eyeglasses --steps 9 --n 8 \
  --out "$EXP/grids/interpolate-long-csvae-condvae.png" "${DEV[@]}"
for m in vae condvae-info; do
  "$BIN" interpolate --run "$EXP/$m" --attr Eyeglasses --steps 9 --n 8 --out "$EXP/grids/interpolate-long-$m.png" "${DEV[@]}"
done
{
  echo "# Interpolation: no eyeglasses to eyeglasses ($SIZE)"
  echo
  echo "csvae: w_Eyeglasses along the line between the two labels' prior means, z kept; condvae and"
  echo "condvae-info: y_Eyeglasses from 0 to 1; vae: z along the mean difference of the label groups."
  echo
  echo "![csvae vs condvae](grids/interpolate-long-csvae-condvae.png)"
  echo
  echo "![vae](grids/interpolate-long-vae.png)"
  echo
  echo "![condvae-info](grids/interpolate-long-condvae-info.png)"
} >"$EXP/interpolation.md"
echo "== report: $EXP/interpolation.md" >&2
