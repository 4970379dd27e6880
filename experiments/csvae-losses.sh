#!/usr/bin/env bash
# CSVAE's loss components over training (reconstruction, KL of w, KL of z,
# the adversary's term and its own cross-entropy, train and test), from the
# csvae of eyeglasses.sh (trained first if missing).
source "$(dirname "$0")/lib.sh"
EXP=$OUT/eyeglasses-$SIZE
[ -f "$EXP/report.md" ] || bash experiments/eyeglasses.sh
{
  echo "# csvae loss components over training ($SIZE)"
  echo
  echo "![losses](csvae/losses.png)"
  echo
  echo "Per epoch (\`csvae/losses.csv\`; per-example sums averaged over the batch, before the betas):"
  echo
  awk -F, 'NR == 1 { printf "| %s | %s | %s | %s | %s | %s | %s |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n", $1, $10, $11, $12, $13, $14, $15; next }
           { printf "| %s | %.3f | %.3f | %.3f | %.4f | %.4f | %.1f |\n", $1, $10, $11, $12, $13, $14, $15 }' "$EXP/csvae/losses.csv"
} >"$EXP/csvae-losses.md"
echo "== report: $EXP/csvae-losses.md" >&2
