#!/usr/bin/env bash
# Compares the main loss of two runs step by step, from the steps.csv that
# `csvae-gpu train --log-steps` writes (a GPU run and a CPU run from the same
# seed, say), and prints one line:
#
#   pass|FAIL first step D1, first 5 max D5, max DM (step S), final (mean of last K) DF: a A b B; loop TA s a, TB s b
#
# D are relative differences |a-b|/|b| of the main loss. The curves drift
# apart (float reductions sum in different orders), so it passes when the
# first five steps agree to FIRST_TOL and the means of the last 20 steps to
# FINAL_TOL. Exit status 0 on pass, 1 on FAIL, 2 on unusable input.
#
#   scripts/compare-losses.sh A/steps.csv B/steps.csv [STEPS [FIRST_TOL [FINAL_TOL]]]
#
# STEPS (default: all of A's) is how many steps both must have; the
# environment variables LABEL_A and LABEL_B name the runs in the line.
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 A/steps.csv B/steps.csv [STEPS [FIRST_TOL [FINAL_TOL]]]" >&2
  exit 2
fi
for f in "$1" "$2"; do
  [ -r "$f" ] || { echo "BAD cannot read $f"; exit 2; }
done
awk -F, -v an="${LABEL_A:-a}" -v bn="${LABEL_B:-b}" -v n="${3:-0}" -v tol1="${4:-1e-3}" -v tolf="${5:-0.05}" '
  FNR == 1 {
    m = 0
    for (i = 1; i <= NF; i++) if ($i == "main") m = i
    if (m == 0 || $1 != "step") { printf "BAD %s is not a steps.csv (no step and main columns)\n", FILENAME; bad = 1; exit }
    next
  }
  FILENAME == ARGV[1] { a[$1] = $m; ta = $4; la = $1; next }
  { b[$1] = $m; tb = $4; lb = $1 }
  function rel(x, y,   d) { d = x - y; if (d < 0) d = -d; y = (y < 0) ? -y : y; return d / (y > 1e-12 ? y : 1e-12) }
  END {
    if (bad) exit 2
    if (n == 0) n = la
    if (la < n || lb < n || n < 1) { printf "BAD steps: %s has %d, %s has %d, want %d\n", an, la, bn, lb, n; exit 2 }
    for (s = 1; s <= n; s++) if (!(s in a) || !(s in b)) { printf "BAD step %d missing\n", s; exit 2 }
    first = rel(a[1], b[1])
    for (s = 1; s <= 5 && s <= n; s++) if (rel(a[s], b[s]) > first5) first5 = rel(a[s], b[s])
    at = "-"
    for (s = 1; s <= n; s++) if (rel(a[s], b[s]) > mx) { mx = rel(a[s], b[s]); at = s }
    k = (n < 20) ? n : 20
    for (s = n - k + 1; s <= n; s++) { sa += a[s]; sb += b[s] }
    final = rel(sa / k, sb / k)
    ok = (first5 <= tol1 && final <= tolf) ? "pass" : "FAIL"
    printf "%s first step %.1e, first 5 max %.1e, max %.1e (step %s), final (mean of last %d) %.2e: %s %.6g %s %.6g; loop %.1fs %s, %.1fs %s\n",
      ok, first, first5, mx, at, k, final, an, sa / k, bn, sb / k, ta, an, tb, bn
    exit (ok == "pass") ? 0 : 1
  }' "$1" "$2"
