#!/usr/bin/env bash
# The GPU check of csvae-gpu, for a host with an NVIDIA GPU and no Go
# toolchain: it is given the repository and bin/csvae-gpu built by `make gpu`.
#
#   scripts/gpu-check.sh [REFERENCE.py]      (default: ref/csvae64.py)
#
# In under 8 minutes, each step under its own timeout and the whole under
# one budget, continuing after a failing step:
#   a  nvidia-smi
#   b  csvae-gpu selftest --device gpu (every kernel against its Go fallback)
#   c  compute-sanitizer memcheck on the selftest
#   d  compute-sanitizer racecheck on the selftest (6 shapes per op)
#   e  csvae-gpu bench --device gpu: every kernel and training step, GPU
#      beside the CPU fallback
#   f  300 training steps of csvae on 2000 synthetic 32x32 faces, batch 64,
#      on the GPU and on the CPU from the same seed, loss curves compared
#   g  with python3, torch and CUDA: the PyTorch reference (REFERENCE.py) at
#      batch 64 and 128 against our training step, images/s and their ratio
#   h  with torch too: cuDNN on the encoder's convolutions against ours (e)
# and ends with one short Markdown table. Logs go to ${OUT:-gpu-check-out}/.
#
# Environment (defaults in brackets):
#   OUT                   where logs go [gpu-check-out]
#   GPU_CHECK_BIN         the binary [bin/csvae-gpu]
#   GPU_CHECK_BUDGET      seconds for all steps together [465]
#   GPU_CHECK_MEMCHECK    selftest selection under memcheck [all checks]
#   GPU_CHECK_RACECHECK   selftest selection under racecheck [--per-op 6]
#   GPU_CHECK_STEPS       training steps in f [300]
#   GPU_CHECK_FACES       synthetic faces in f [2000]
#   GPU_CHECK_PYTHON      python with torch [python3]
#   GPU_CHECK_BENCH_FLAGS extra flags for e, e.g. --min-time 100ms [none]
#   GPU_CHECK_KEEP        1 keeps f's faces, cache and checkpoints [0]
#   GPU_CHECK_SANITIZER   compute-sanitizer [found on PATH or under /usr/local/cuda*]
# For testing the script without a GPU only:
#   GPU_CHECK_TRAIN_DEVICE  device of f's "GPU" run [gpu]; cpu exercises the
#                           comparison with two CPU runs
set -u

here=$PWD
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
out=$(abs "${OUT:-gpu-check-out}")
ref=${1:-}
[ -n "$ref" ] && ref=$(abs "$ref")
bin=${GPU_CHECK_BIN:-}
[ -n "$bin" ] && bin=$(abs "$bin")
cd "$(dirname "$0")/.." || exit 2
[ -n "$ref" ] || ref=$PWD/ref/csvae64.py
[ -n "$bin" ] || bin=$PWD/bin/csvae-gpu
budget=${GPU_CHECK_BUDGET:-465}
steps=${GPU_CHECK_STEPS:-300}
faces=${GPU_CHECK_FACES:-2000}
py=${GPU_CHECK_PYTHON:-python3}
train_device=${GPU_CHECK_TRAIN_DEVICE:-gpu}
memcheck_sel=${GPU_CHECK_MEMCHECK:-}
racecheck_sel=${GPU_CHECK_RACECHECK:---per-op 6}
mkdir -p "$out" || exit 2

# ---- bookkeeping ----

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
began=$(now)
names=() results=() figures=()
record() { # record STEP RESULT FIGURE
  names+=("$1") results+=("$2") figures+=("$3")
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$out/results.tsv"
  echo "== $1: $2 — $3"
}
: >"$out/results.tsv"

# limit WANT: the seconds a step may take, WANT or what is left of the
# budget (less a margin for the table), whichever is smaller.
limit() {
  awk -v want="$1" -v b="$budget" -v a="$began" -v n="$(now)" \
    'BEGIN { left = b - (n - a) - 5; t = (want < left) ? want : left; printf "%d", (t > 0) ? t : 0 }'
}

# run LOG WANT CMD...: runs CMD under timeout, output to LOG; sets RC (124
# timeout, 125 skipped for want of time), SECS and LIMIT.
run() {
  local log=$1 want=$2 t0
  shift 2
  LIMIT=$(limit "$want")
  if [ "$LIMIT" -lt 5 ]; then
    echo "skipped: the time budget of ${budget}s is spent" >"$log"
    RC=125 SECS=0
    return
  fi
  t0=$(now)
  timeout -k 10 "$LIMIT" "$@" >"$log" 2>&1
  RC=$?
  SECS=$(since "$t0")
  [ "$RC" -eq 137 ] && RC=124
  return 0
}

# verdict: pass, FAIL (exit N), timeout or skipped, from RC.
verdict() {
  case $RC in
    0) echo pass ;;
    124) echo "timeout (${LIMIT}s)" ;;
    125) echo "skipped (time)" ;;
    *) echo "FAIL (exit $RC)" ;;
  esac
}

# lastline LOG: the last non-empty line of a log, shortened, for the table.
lastline() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | tr -d '|' | cut -c1-140; }

# ---- versions ----

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) CPUs"
  echo "repository: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | grep -q . && echo '(modified)')"
  echo "binary: $bin $(stat -c "%s bytes, modified %y" "$bin" 2>/dev/null)"
  echo "driver: $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)"
  echo "python: $("$py" --version 2>&1)"
  echo "torch: $("$py" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -n 1)"
} >"$out/versions.txt"
cat "$out/versions.txt"

if [ ! -x "$bin" ]; then
  echo "no executable $bin: build it with make gpu (or set GPU_CHECK_BIN)" >&2
  record "setup" "FAIL" "no executable $bin"
  exit 2
fi

# ---- a: nvidia-smi ----

run "$out/a-nvidia-smi.log" 20 nvidia-smi
if [ "$RC" -eq 0 ]; then
  gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
  record "a nvidia-smi" pass "${gpu:-?}"
else
  record "a nvidia-smi" "$(verdict)" "$(lastline "$out/a-nvidia-smi.log")"
fi

# ---- b: selftest ----

run "$out/b-selftest.md" 60 "$bin" selftest --device gpu --format markdown
line=$(grep '^selftest:' "$out/b-selftest.md" | tail -n 1)
failed=$(grep -c '| FAIL' "$out/b-selftest.md")
fig=${line:-$(lastline "$out/b-selftest.md")}
if [ "$failed" -gt 0 ]; then
  fig="$fig; failing: $(grep '| FAIL' "$out/b-selftest.md" | awk -F'|' '{gsub(/^ +| +$/, "", $2); printf "%s%s", (NR > 1 ? ", " : ""), $2}' | cut -c1-200)"
fi
record "b selftest" "$(verdict)" "$fig (${SECS}s)"

# ---- c, d: compute-sanitizer ----

sanitizer=${GPU_CHECK_SANITIZER:-}
for c in "$sanitizer" "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
  /usr/local/cuda/compute-sanitizer/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer \
  /opt/nvidia/*/compute-sanitizer/compute-sanitizer; do
  if [ -n "$c" ] && [ -x "$c" ]; then sanitizer=$c; break; fi
done

# sanitize STEP TOOL WANT SELECTION: the selftest under a sanitizer tool;
# pass when the tool reports no error and the run completed.
sanitize() {
  local step=$1 tool=$2 want=$3 sel=$4 log="$out/$1-$2.log" what n errors
  if [ -z "$sanitizer" ]; then
    record "$step $tool" "skipped" "no compute-sanitizer found"
    return
  fi
  # shellcheck disable=SC2086 # the selection is a list of selftest flags
  n=$("$bin" selftest --list $sel 2>/dev/null | wc -l)
  what="${sel:-all checks}: $n checks"
  # shellcheck disable=SC2086
  run "$log" "$want" "$sanitizer" --tool "$tool" --error-exitcode 3 --print-limit 100 \
    "$bin" selftest --device gpu $sel
  errors=$(grep -Eo '(ERROR SUMMARY: [0-9]+ error|RACECHECK SUMMARY: [0-9]+ hazards displayed \([0-9]+ error)' "$log" |
    grep -Eo '[0-9]+ error' | grep -Eo '[0-9]+' | tail -n 1)
  # The selftest prints its summary line only when it ran every check.
  local ran res
  ran=$(grep '^selftest:' "$log" | tail -n 1 | cut -c1-60)
  if [ "$RC" -eq 124 ] || [ "$RC" -eq 125 ]; then
    res=$(verdict)
  elif [ -z "$ran" ]; then
    res="FAIL (exit $RC)"
    ran=$(grep -v '^=========' "$log" | lastline /dev/stdin)
    [ -n "$ran" ] || ran=$(lastline "$log")
    ran="the selftest did not run: $(echo "$ran" | cut -c1-100)"
  elif [ -z "$errors" ]; then
    res="FAIL (no summary from the tool)"
  elif [ "$errors" != 0 ]; then
    res="FAIL ($errors errors)"
  else
    res=pass
  fi
  [ -n "$ran" ] && [ "$RC" -eq 1 ] && what="$what, some failed numerically (see b)"
  record "$step $tool" "$res" "$what; ${errors:-?} errors; $ran (${SECS}s)"
}
sanitize c memcheck 100 "$memcheck_sel"
sanitize d racecheck 90 "$racecheck_sel"

# ---- e: the benchmark table ----

# shellcheck disable=SC2086 # a list of bench flags
run "$out/e-bench.md" 170 "$bin" bench --device gpu --format markdown ${GPU_CHECK_BENCH_FLAGS:-}
# Kernel rows with both backends: | case | shape | gpu time | gpu rate | cpu time | cpu rate | speedup |
errored=$(grep -c '| error |' "$out/e-bench.md")
fig=$(awk -F'|' 'NF >= 9 && $2 !~ /case|---|TrainStep/ { s = $8; gsub(/[ x]/, "", s); n = $2; gsub(/^ +| +$/, "", n); if (s ~ /^[0-9.]+$/) print s, n }' "$out/e-bench.md" |
  sort -g | awk '{ v[NR] = $1; if (NR == 1) worst = $0; if ($1 >= 50) good++ }
    END { if (NR == 0) { print "no rows"; exit }
          printf "%d kernels: speedup over CPU min %sx (%s), median %sx, >=50x: %d of %d", NR, v[1], substr(worst, index(worst, " ") + 1), v[int((NR + 1) / 2)], good, NR }')
step64=$(awk -F'|' '$2 ~ /TrainStep\/csvae-celeba64/ && $3 ~ /batch 64 / { r = $5; gsub(/^ +| +$/, "", r); print r }' "$out/e-bench.md")
[ "$errored" -gt 0 ] && fig="$fig; $errored cases failed: $(grep '| error |' "$out/e-bench.md" | awk -F'|' '{ gsub(/^ +| +$/, "", $2); printf "%s%s", (NR > 1 ? ", " : ""), $2 }' | cut -c1-120)"
record "e bench" "$(verdict | sed 's/^pass$/done/')" "$fig; csvae-celeba64 b64 ${step64:-?} (${SECS}s)"

# ---- f: GPU and CPU training from the same seed ----

f=$out/f-train
mkdir -p "$f"
rm -rf "$f/faces" "$f/faces32.cache" "$f/run-gpu" "$f/run-cpu"
train_f() { # train_f DEVICE WANT NAME
  run "$f/train-$3.log" "$2" "$bin" train --model csvae --dataset celeba --data "$f/faces32.cache" --image-size 32 \
    --attrs Eyeglasses,Smiling --batch 64 --seed 1 --epochs 1000 --max-steps "$steps" --plot-every 1000 \
    --checkpoint-every 1000 --log-steps --quiet --device "$1" --out "$f/run-$3"
}
run "$f/synth.log" 60 "$bin" synth --out "$f/faces" --n "$faces" --seed 1 --size 32 --quiet
[ "$RC" -eq 0 ] && run "$f/prepare.log" 30 "$bin" prepare --celeba "$f/faces" --out "$f/faces32.cache" --size 32 --quiet
if [ "$RC" -ne 0 ]; then
  record "f train gpu-cpu" "$(verdict)" "making the faces: $(lastline "$f/synth.log") $(lastline "$f/prepare.log" 2>/dev/null)"
else
  train_f "$train_device" 90 gpu
  rc_gpu=$RC secs_gpu=$SECS verdict_gpu=$(verdict)
  # Without a GPU curve the CPU run would only spend the budget.
  if [ "$rc_gpu" -eq 0 ]; then
    train_f cpu 150 cpu
    rc_cpu=$RC secs_cpu=$SECS verdict_cpu=$(verdict)
  fi
  if [ "$rc_gpu" -ne 0 ]; then
    record "f train gpu-cpu" "FAIL" "gpu run: $verdict_gpu $(lastline "$f/train-gpu.log" | cut -c1-100); cpu run left out"
  elif [ "$rc_cpu" -ne 0 ]; then
    record "f train gpu-cpu" "FAIL" "gpu run: ${secs_gpu}s; cpu run: $verdict_cpu $(lastline "$f/train-cpu.log" | cut -c1-100)"
  else
    # The main loss step by step; the curves drift apart since reductions
    # sum in different orders (see the helper).
    cmp=$(LABEL_A=gpu LABEL_B=cpu bash scripts/compare-losses.sh "$f/run-gpu/steps.csv" "$f/run-cpu/steps.csv" "$steps")
    res=${cmp%% *}
    [ "$res" = BAD ] && res=FAIL
    [ "$train_device" != gpu ] && res="$res (gpu side on $train_device: test only)"
    record "f train gpu-cpu" "$res" "$steps steps: ${cmp#* }; wall ${secs_gpu}s gpu, ${secs_cpu}s cpu"
  fi
fi
# The caller collects $OUT: keep the logs and loss curves, not the data
# and checkpoints (tens of MB).
[ "${GPU_CHECK_KEEP:-0}" = 1 ] || rm -rf "$f/faces" "$f/faces32.cache" "$f"/run-*/checkpoint.safetensors

# ---- g, h: PyTorch on the same GPU ----

torch_ok=0
"$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >"$out/g-torch-probe.log" 2>&1 && torch_ok=1
if [ "$torch_ok" -eq 0 ]; then
  record "g pytorch ratio" "skipped" "no $py with torch and CUDA ($(lastline "$out/g-torch-probe.log" | cut -c1-60))"
elif [ ! -f "$ref" ]; then
  record "g pytorch ratio" "skipped" "no reference at $ref (pass its path as argument 1)"
else
  run "$out/g-ours.md" 40 "$bin" bench --device gpu --no-cpu --filter '^TrainStep/csvae-celeba64 ' --min-time 3s --format markdown
  rc_ours=$RC
  fig="" res="done" short=$((RC == 125))
  for b in 64 128; do
    run "$out/g-torch-b$b.log" 60 "$py" "$ref" --device cuda --batch "$b" --steps 100 --warmup 10
    [ "$RC" -eq 125 ] && short=1
    theirs=$(sed -n 's/.*train_images_per_s=\([0-9.]*\).*/\1/p' "$out/g-torch-b$b.log" | tail -n 1)
    ours=$(awk -F'|' -v b="$b" '$3 ~ ("batch " b " *$") { r = $5; sub(/^ +/, "", r); split(r, p, " "); print p[1] }' "$out/g-ours.md")
    if [ -z "$theirs" ] || [ -z "$ours" ] || [ "$rc_ours" -ne 0 ]; then
      res=FAIL
      fig="$fig b$b: ours ${ours:-?} torch ${theirs:-?} img/s;"
    else
      fig="$fig b$b: ours $ours torch $theirs img/s = $(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')x;"
    fi
  done
  [ "$res" = FAIL ] && [ "$short" -eq 1 ] && res="skipped (time)"
  record "g pytorch ratio" "$res" "${fig# } goal >=2x ($("$py" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null), its default TF32 convolutions)"
fi

if [ "$torch_ok" -eq 1 ]; then
  cat >"$out/h-cudnn.py" <<'EOF'
# cuDNN through PyTorch on the encoder's convolutions at batch 64, in FP32
# (TF32 off, as our kernels), the best algorithm (benchmark mode); one line
# per op in csvae-gpu bench's names and microseconds.
import time, torch
import torch.nn.functional as F
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
def per_run(f, min_time=0.2):
    for _ in range(5):
        f()
    torch.cuda.synchronize()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            f()
        torch.cuda.synchronize()
        d = time.perf_counter() - t
        if d >= min_time:
            return d / n
        n = max(2 * n, int(n * min_time / max(d, 1e-6)))
def backward(dy, x, w, mask):
    try:
        return torch.ops.aten.convolution_backward(dy, x, w, [w.shape[0]], [2, 2], [1, 1], [1, 1], False, [0, 0], 1, mask)
    except Exception:
        if mask[0]:
            return torch.nn.grad.conv2d_input(x.shape, w, dy, stride=2, padding=1)
        return torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=2, padding=1), dy.sum((0, 2, 3))
for i, (c, h, k) in enumerate([(3, 64, 32), (32, 32, 64), (64, 16, 128), (128, 8, 256)]):
    x = torch.randn(64, c, h, h, device="cuda")
    w = 0.05 * torch.randn(k, c, 4, 4, device="cuda")
    b = torch.randn(k, device="cuda")
    dy = torch.randn_like(F.conv2d(x, w, b, stride=2, padding=1))
    name = f"enc{i + 1}"
    print(f"ConvForward {name} {1e6 * per_run(lambda: F.conv2d(x, w, b, stride=2, padding=1)):.2f}")
    print(f"ConvBackwardData {name} {1e6 * per_run(lambda: backward(dy, x, w, [True, False, False])):.2f}")
    print(f"ConvBackwardFilter {name} {1e6 * per_run(lambda: backward(dy, x, w, [False, True, True])):.2f}")
EOF
  run "$out/h-cudnn.log" 60 "$py" "$out/h-cudnn.py"
  if [ "$RC" -ne 0 ] || [ ! -s "$out/e-bench.md" ]; then
    record "h conv vs cuDNN" "$(verdict)" "$(lastline "$out/h-cudnn.log" | cut -c1-100)"
  else
    # Our GPU time per op (bench e, column 4) against cuDNN's: the percent of
    # cuDNN's speed we reach (goal >= 80%).
    fig=$(awk -F'|' -v cudnn="$out/h-cudnn.log" '
      BEGIN { while ((getline line < cudnn) > 0) { split(line, p, " "); t[p[1] " " p[2]] = p[3] } }
      $2 ~ /^ Conv[A-Za-z]+ enc[1-4] $/ {
        n = $2; gsub(/^ +| +$/, "", n); split($4, p, " ")
        us = p[1] * ((p[2] == "s") ? 1e6 : (p[2] == "ms") ? 1e3 : 1)
        if ((n in t) && us > 0) { pct = 100 * t[n] / us; print pct, n }
      }' "$out/e-bench.md" |
      sort -g | awk '{ v[NR] = $1; if (NR == 1) worst = $0; if ($1 >= 80) good++ }
        END { if (NR == 0) { print "no rows to compare"; exit }
              printf "%d encoder conv ops: ours at min %.0f%% of cuDNN speed (%s), median %.0f%%, >=80%%: %d of %d",
                NR, v[1], substr(worst, index(worst, " ") + 1), v[int((NR + 1) / 2)], good, NR }')
    record "h conv vs cuDNN" "done" "$fig (FP32, batch 64)"
  fi
else
  record "h conv vs cuDNN" "skipped" "no torch with CUDA"
fi

# ---- the table ----

{
  echo
  echo "GPU check of csvae-gpu, $(date -u +%F), $(since "$began")s in all; logs in $out"
  echo
  echo "| step | result | key figure |"
  echo "| --- | --- | --- |"
  for i in "${!names[@]}"; do
    echo "| ${names[$i]} | ${results[$i]} | ${figures[$i]} |"
  done
} | tee "$out/summary.md"
