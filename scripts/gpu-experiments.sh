#!/usr/bin/env bash
# The experiment recipes at the CelebA-64 settings on a GPU host without Go,
# under one time budget, with what they produced packed for the trip back.
#
#   scripts/gpu-experiments.sh [SECONDS]      (default 480)
#
# Given the repository and bin/gpu/csvae-gpu (make gpu BIN=bin/gpu/csvae-gpu),
# runs SIZE=full experiments/NAME.sh for each NAME of $EXPS in turn until
# SECONDS have passed (a recipe cut short resumes where it stopped when run
# again on the same host), then writes into $RESULTS (default: $OUT, else
# gpu-experiments-out):
#   experiments.log   every step with its time
#   experiments.tgz   runs/full without checkpoints, edited images and faces:
#                     reports, tables, results.json/csv, grids, losses
# Relative RESULTS and RUNS are taken from where the script is called.
# Environment: EXPS [eyeglasses makeup-keep male-keep-makeup eyeglasses-smiling],
# BIN [bin/gpu/csvae-gpu], RUNS [runs/full], and the recipes' own knobs
# (EPOCHS, NFACES, SEED, DEVICE, ...: experiments/lib.sh).
# The Eyeglasses recipe takes about 7.5 minutes on an H100 (experiments/README.md).
set -u
here=$PWD
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
budget=${1:-480}
results=$(abs "${RESULTS:-${OUT:-gpu-experiments-out}}")
[ -n "${RUNS:-}" ] && RUNS=$(abs "$RUNS")
cd "$(dirname "$0")/.." || exit 2
runs=${RUNS:-runs/full}
export BIN=${BIN:-bin/gpu/csvae-gpu}
mkdir -p "$results" || exit 2
log=$results/experiments.log
began=$(date +%s)

# OUT is the recipes' output folder; the device's $OUT is kept in $results.
OUT=$runs EXPS=${EXPS:-eyeglasses makeup-keep male-keep-makeup eyeglasses-smiling} \
  timeout "$budget" bash -c 'for e in $EXPS; do
    echo "#### $(date +%T) $e"
    SIZE=full bash experiments/$e.sh || echo "#### $e failed: exit $?"
  done' >"$log" 2>&1
rc=$?
[ $rc = 124 ] && echo "#### $(date +%T) stopped at the budget of $budget s" >>"$log"
echo "#### $(date +%T) done after $(($(date +%s) - began)) s" >>"$log"
tar czf "$results/experiments.tgz" --exclude=edited --exclude='*.safetensors' --exclude='faces-*' "$runs" "$log"
grep '^####' "$log"
