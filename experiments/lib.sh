# Shared steps of the experiment recipes (sourced by experiments/*.sh).
#
# Knobs (environment variables):
#   SIZE     small (default): built-in synthetic faces at 32x32, 20 epochs per model, sized
#            to finish on a 2-core CPU in about a quarter of an hour per experiment;
#            medium: the same with 30,000 faces rather than 8,000 (24,000 for training),
#            about 70 minutes per experiment on 2 cores: chosen because the small
#            recipes' misses shrank with more faces (experiments/README.md, "More faces"
#            and "SIZE=medium");
#            full: the CelebA-64 settings (64x64, 20 epochs per model, Dz 64), meant for a GPU.
#   DEVICE   cpu (default for small and medium) or gpu (default for full; needs bin/csvae-gpu from `make gpu`).
#   CELEBA   full only: a CelebA directory (img_align_celeba/, list_attr_celeba.txt,
#            list_eval_partition.txt); without it, synthetic faces are drawn instead.
#   OUT      where runs and reports go (default runs/experiments).
#   SEED     seed of the faces, the weights and the batches (default 1).
#   BIN      the csvae-gpu binary (default bin/csvae-gpu; rebuilt from the checkout when Go is
#            installed, with make gpu for DEVICE=gpu).
#   THREADS  CPU threads per command (default: all cores).
#   BETAS    the loss weights of every model (default 200,10,2,100,1, and 20,10,2,100,1 for
#            male-keep-makeup.sh; 20,1,2,100,1 is the swiss-roll recipe that the first tables
#            of experiments/README.md used).
#   ADV_STEPS adversary updates per batch of the models with one, csvae and condvae-info
#            (default 5; 1 is the paper's alternation, which the earlier tables used).
#   MEAN_GAP csvae's weight of the class-mean gap penalty on z (train --mean-gap; not in the
#            paper): default 0, and 100 for male-keep-makeup.sh.
#   MEAN_GAP_ATTRS the attributes it applies to (train --mean-gap-attrs; default: all the run's).
#   DZ       the size of z of the compared models (default 64; 16 for makeup-keep.sh at SIZE=small
#            and medium, 32 for male-keep-makeup.sh at medium).
#   VAE_DZ   the same for the vae that pretrains them and is the vae baseline (default: DZ; 64 for
#            makeup-keep.sh and for male-keep-makeup.sh at medium). The vae's latent is VAE_DZ
#            plus two per attribute.
#   EMA      csvae's moving average of its weights, decay per step (train --ema; not in
#            the paper), which every command then uses: default 0 (off), and 0.995 for
#            male-keep-makeup.sh at SIZE=small and medium and eyeglasses-smiling.sh at medium.
#   VAE_EPOCHS the vae's epochs (default: EPOCHS; 20 for male-keep-makeup.sh, whose compared
#            models train 30 at SIZE=small and medium).
#   BALANCE  csvae's training draws favouring rare label combinations, power P (train
#            --balance; not in the paper): default 0 (off, the usual shuffle).
#   PRIOR    p(w|y) of csvae and csvae-noadv as train --prior's "mean,sd of y=1,mean,sd of
#            y=0": default the design's 0,0.1,3,1, and 3,1,0,0.1 for makeup-keep.sh at medium
#            (the made-up faces' w wide enough to hold the eyeshadow's shade).
#   MODELS   models compared besides the vae (default: csvae condvae condvae-info;
#            add csvae-noadv for the ablation).
#
# Every step is skipped when its output exists, so a recipe interrupted at any
# point continues where it stopped when run again (training resumes from its
# last checkpoint).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZE=${SIZE:-small}
OUT=${OUT:-runs/experiments}
SEED=${SEED:-1}
BIN=${BIN:-bin/csvae-gpu}
MODELS=${MODELS:-csvae condvae condvae-info}
case "$SIZE" in
small)
  DEVICE=${DEVICE:-cpu}
  # 20 epochs rather than 10: chosen for csvae on the validation split of a
  # second seed (experiments/README.md, "Twenty epochs").
  IMG=32 NFACES=${NFACES:-8000} EPOCHS=${EPOCHS:-20} CLS_EPOCHS=10 EVAL_N=1000 LEAK_N=5000
  ;;
medium)
  DEVICE=${DEVICE:-cpu}
  IMG=32 NFACES=${NFACES:-30000} EPOCHS=${EPOCHS:-20} CLS_EPOCHS=10 EVAL_N=1000 LEAK_N=5000
  ;;
full)
  DEVICE=${DEVICE:-gpu}
  IMG=64 NFACES=${NFACES:-50000} EPOCHS=${EPOCHS:-20} CLS_EPOCHS=10 EVAL_N=5000 LEAK_N=20000
  ;;
*)
  echo "SIZE must be small, medium or full, got $SIZE" >&2
  exit 1
  ;;
esac
VAE_EPOCHS=${VAE_EPOCHS:-$EPOCHS}
# Rebuild the binary from this checkout whenever Go is here, so that a recipe
# never runs a stale one (go build is incremental: a second when nothing
# changed). Without Go (a GPU machine given a binary built elsewhere), $BIN is
# used as it is.
if command -v go >/dev/null 2>&1; then
  mkdir -p "$(dirname "$BIN")"
  if [ "$DEVICE" = gpu ]; then
    make -s gpu BIN="$BIN" >&2
  else
    go build -o "$BIN" ./cmd/csvae-gpu
  fi
elif [ ! -x "$BIN" ]; then
  echo "no $BIN and no Go to build it: build it with make (or make gpu) and set BIN" >&2
  exit 1
fi
DEV=(--device "$DEVICE")
[ -n "${THREADS:-}" ] && DEV+=(--threads "$THREADS")

# The training recipe of every model: the swiss-roll recipe of the README
# (one loss convention, a class-balanced adversary, beta4 = 100, beta3 = 2)
# with the reconstruction weighted 200 and the KL of w 10 for images, as
# chosen for csvae on the validation split of the Eyeglasses experiment (see
# experiments/README.md, "Choosing the image recipe"). male-keep-makeup.sh
# sets its own (reconstruction 20).
BETAS=${BETAS:-200,10,2,100,1}
RECIPE=(--betas "$BETAS" --adv-balance --adv-lr 3e-3 --lr-decay 0.98)
# Five adversary updates per batch for csvae and condvae-info, chosen for
# csvae's leakage on the validation split (experiments/README.md).
ADV_STEPS=${ADV_STEPS:-5}
# csvae's mean-gap weight: off except where a recipe sets it, chosen for
# Male on two seeds (experiments/README.md, "Closing the mean gap").
MEAN_GAP=${MEAN_GAP:-0}
MEAN_GAP_ATTRS=${MEAN_GAP_ATTRS:-}
# csvae's moving average of its weights: off except where a recipe sets it,
# chosen for Male on six seeds (experiments/README.md, "Weight averaging")
# and for Eyeglasses and Smiling at SIZE=medium on two (Rule 15).
EMA=${EMA:-0}
# csvae's draws of rare label combinations: off except where a recipe sets it.
BALANCE=${BALANCE:-0}
# csvae's prior p(w|y): the design's unless a recipe sets it (Rule 18,
# experiments/README.md, "The eyeshadow's shade"), normalised once to the
# spelling train_model compares with a run's config.json (3.0 and 3 alike).
DESIGN_PRIOR=0,0.1,3,1
PRIOR=$(awk -F, '{ printf "%g,%g,%g,%g", $1, $2, $3, $4 }' <<<"${PRIOR:-$DESIGN_PRIOR}")
# The size of z: the design's 64 unless a recipe chose another on
# validation splits (makeup-keep.sh).
DZ=${DZ:-64}
VAE_DZ=${VAE_DZ:-$DZ}
# The attributes the synthetic faces draw visibly; the classifier judges these.
CLS_ATTRS=Eyeglasses,Smiling,Male,Heavy_Makeup,Wearing_Lipstick,Mustache,Receding_Hairline,Wearing_Hat,Blond_Hair,Bangs

# The labels the synthetic faces do not show in the crop (dataset.SynthUndrawn):
# eval's labels row, the leakage a z keeping every other labelled attribute
# would have, leaves them out.
SYNTH_UNDRAWN=Attractive,High_Cheekbones,Oval_Face,Pointy_Nose,Straight_Hair,Young,Wearing_Necktie
# The attributes synth --flip can reverse alone (dataset.SynthFlippable): the
# ideal editor's row exists for these.
SYNTH_FLIPPABLE=Eyeglasses,Smiling,Heavy_Makeup

say() { echo "== $(date +%T) $*" >&2; }

# data: sets DATA (the packed cache or CelebA directory) and CLS (the classifier).
# The classifier trains for 10 epochs: at 5, it judged 8% of the ideal
# editor's eyeglasses edits (synth --flip) to have changed another attribute,
# at 10 under 3% (validation split; experiments/README.md).
data() {
  mkdir -p "$OUT/data"
  if [ "$SIZE" = full ] && [ -n "${CELEBA:-}" ]; then
    CLS=$OUT/data/classifier-celeba-$IMG-e$CLS_EPOCHS
    if [ ! -f "$CELEBA/csvae-$IMG.cache" ]; then
      say "prepare $CELEBA at ${IMG}x$IMG"
      "$BIN" prepare --celeba "$CELEBA" --out "$CELEBA/csvae-$IMG.cache" --size "$IMG" --quiet
    fi
    DATA=$CELEBA/csvae-$IMG.cache
  else
    local faces=$OUT/data/faces-n$NFACES-seed$SEED
    DATA=$faces-$IMG.cache
    CLS=$OUT/data/classifier-n$NFACES-seed$SEED-$IMG-e$CLS_EPOCHS
    if [ ! -f "$faces/list_eval_partition.txt" ]; then
      say "synth $NFACES faces (seed $SEED)"
      "$BIN" synth --out "$faces" --n "$NFACES" --seed "$SEED" --quiet
    fi
    if [ ! -f "$DATA" ]; then
      say "prepare ${IMG}x$IMG cache"
      "$BIN" prepare --celeba "$faces" --out "$DATA" --size "$IMG" --quiet
    fi
  fi
  if [ ! -f "$CLS/classifier.safetensors" ]; then
    say "classifier ($CLS_ATTRS)"
    mkdir -p "$CLS"
    "$BIN" classifier train --data "$DATA" --attrs "$CLS_ATTRS" --out "$CLS" --epochs "$CLS_EPOCHS" \
      --seed "$SEED" --quiet "${DEV[@]}" | tee "$CLS/accuracy.txt.tmp"
    mv "$CLS/accuracy.txt.tmp" "$CLS/accuracy.txt"
  fi
}

# ideal_flags EDIT: sets IDEAL to eval's --ideal flags, one per edited attribute
# that the synthetic faces can flip (Eyeglasses, Smiling, Heavy_Makeup): the
# same faces with only that attribute reversed, the ideal editor's output,
# drawn and prepared once. CelebA has no such counterfactuals, nor do
# attributes that share parameters with others (Male).
ideal_flags() {
  IDEAL=()
  [ "$SIZE" = full ] && [ -n "${CELEBA:-}" ] && return 0
  local faces=$OUT/data/faces-n$NFACES-seed$SEED a
  for a in ${1//,/ }; do
    [[ ",$SYNTH_FLIPPABLE," == *",$a,"* ]] || continue
    if [ ! -f "$faces-flip-$a/list_eval_partition.txt" ]; then
      say "synth the same faces with $a flipped (the ideal edit)"
      "$BIN" synth --out "$faces-flip-$a" --n "$NFACES" --seed "$SEED" --flip "$a" --quiet
    fi
    if [ ! -f "$faces-flip-$a-$IMG.cache" ]; then
      "$BIN" prepare --celeba "$faces-flip-$a" --out "$faces-flip-$a-$IMG.cache" --size "$IMG" --quiet
    fi
    IDEAL+=(--ideal "$a=$faces-flip-$a-$IMG.cache")
  done
}

# train_model DIR MODEL ATTRS [extra flags]: trains, or resumes an unfinished run.
train_model() {
  local dir=$1 model=$2 attrs=$3
  shift 3
  # The models with an adversary update it ADV_STEPS times per batch.
  local steps=1 gap=0 gap_attrs="" dz=$DZ ema=0 balance=0 prior=$DESIGN_PRIOR epochs=$EPOCHS
  [ "$model" = vae ] && dz=$VAE_DZ epochs=$VAE_EPOCHS
  case $model in csvae | condvae-info) steps=$ADV_STEPS ;; esac
  [ "$model" = csvae ] && gap=$MEAN_GAP gap_attrs=$MEAN_GAP_ATTRS ema=$EMA balance=$BALANCE
  case $model in csvae | csvae-noadv) prior=$PRIOR ;; esac
  if [ -f "$dir/checkpoint.safetensors" ]; then
    # A run of another recipe would be resumed as it is and scored as this one.
    local cfg have_betas have_steps have_gap have_attrs have_dz have_ema have_balance have_prior want_attrs=""
    cfg=$(tr -d ' \n' <"$dir/config.json")
    have_betas=$(grep -o '"betas":\[[^]]*\]' <<<"$cfg" || true)
    have_steps=$(grep -o '"adv_steps":[0-9]*' <<<"$cfg" | cut -d: -f2 || true)
    have_gap=$(grep -o '"mean_gap":[0-9.e+-]*' <<<"$cfg" | cut -d: -f2 || true)
    have_attrs=$(grep -o '"mean_gap_attrs":\[[^]]*\]' <<<"$cfg" | tr -d '"' | cut -d: -f2 | tr -d '[]' || true)
    have_dz=$(grep -o '"dz":[0-9]*' <<<"$cfg" | cut -d: -f2 || true)
    have_ema=$(grep -o '"ema":[0-9.e+-]*' <<<"$cfg" | cut -d: -f2 || true)
    have_balance=$(grep -o '"balance":[0-9.e+-]*' <<<"$cfg" | cut -d: -f2 || true)
    # config.json holds the prior as means and log-variances; the vae and
    # condvaes hold the design's default, which they do not use.
    have_prior=$(grep -o '"prior":{[^}]*}' <<<"$cfg" | grep -o ':[-0-9.e+]*' | tr -d ':' | tr '\n' ' ' |
      awk '{ printf "%g,%g,%g,%g", $1, exp($2 / 2), $3, exp($4 / 2) }' || true)
    [ "$gap" != 0 ] && want_attrs=$gap_attrs
    [ "${have_steps:-1}" = 0 ] && have_steps=1
    if [ "$have_betas" != "\"betas\":[$BETAS]" ] || [ "${have_steps:-1}" != "$steps" ] || [ "${have_gap:-0}" != "$gap" ] || [ "$have_attrs" != "$want_attrs" ] || [ "$have_dz" != "$dz" ] || [ "${have_ema:-0}" != "$ema" ] || [ "${have_balance:-0}" != "$balance" ] || [ "${have_prior:-$DESIGN_PRIOR}" != "$prior" ]; then
      echo "$dir was trained with ${have_betas:-no betas}, ${have_steps:-1} adversary steps, mean gap ${have_gap:-0} (${have_attrs:-all attributes}), Dz ${have_dz:-?}, EMA ${have_ema:-0}, balance ${have_balance:-0} and prior ${have_prior:-$DESIGN_PRIOR}, this recipe uses [$BETAS], $steps, $gap (${want_attrs:-all attributes}), $dz, $ema, $balance and $prior: set OUT to a new directory" >&2
      exit 1
    fi
    say "$model: resume $dir (up to $epochs epochs)"
    "$BIN" train --resume "$dir" --epochs "$epochs" --quiet "${DEV[@]}"
  else
    say "$model: train $dir ($epochs epochs)"
    "$BIN" train --model "$model" --dataset celeba --data "$DATA" --image-size "$IMG" --attrs "$attrs" \
      --epochs "$epochs" --seed "$SEED" --dz "$dz" "${RECIPE[@]}" --adv-steps "$steps" --mean-gap "$gap" ${gap_attrs:+--mean-gap-attrs "$gap_attrs"} --ema "$ema" --balance "$balance" --prior "$prior" --out "$dir" --quiet "${DEV[@]}" "$@"
  fi
}

# experiment NAME ATTRS EDIT KEEP TITLE: the whole comparison. ATTRS are the
# run's attributes, EDIT those edited and scored (comma-separated), KEEP those
# that must not change ("" = every other attribute the classifier knows).
experiment() {
  local name=$1 attrs=$2 edit=$3 keep=$4 title=$5
  data
  EXP=$OUT/$name-$SIZE
  mkdir -p "$EXP/grids"
  # Pretraining: a vae first; every other model starts its convolutions
  # from it. The vae is also the vae baseline.
  train_model "$EXP/vae" vae "$attrs"
  for m in $MODELS; do
    train_model "$EXP/$m" "$m" "$attrs" --init-from "$EXP/vae"
  done
  local all=(vae $MODELS)
  local first=${edit%%,*}
  for m in "${all[@]}"; do
    local flags=()
    for a in ${edit//,/ }; do flags+=(--attr "$a=1" --attr "$a=0"); done
    say "manipulate: $m"
    "$BIN" manipulate --run "$EXP/$m" "${flags[@]}" --n 8 --out "$EXP/grids/manipulate-$m.png" \
      --images "$EXP/edited/$m" --images-n 500 "${DEV[@]}"
  done
  for m in $MODELS; do
    case $m in csvae | csvae-noadv)
      for a in ${edit//,/ }; do
        "$BIN" traverse --run "$EXP/$m" --attr "$a" --steps 7 --n 2 --out "$EXP/grids/traverse-$m-$a.png" "${DEV[@]}"
      done
      ;;
    esac
  done
  if [[ " $MODELS " == *" csvae "* ]]; then
    for a in ${edit//,/ }; do
      "$BIN" leak --run "$EXP/csvae" --attr "$a" --leak-n "$LEAK_N" --out "$EXP/grids/leak-csvae-$a.png" "${DEV[@]}" >/dev/null
    done
  fi
  if [[ " $MODELS " == *" csvae "* && " $MODELS " == *" condvae "* ]]; then
    for a in ${edit//,/ }; do
      "$BIN" interpolate --run "$EXP/csvae" --run2 "$EXP/condvae" --attr "$a" --steps 7 --n 4 \
        --out "$EXP/grids/interpolate-$a.png" "${DEV[@]}"
    done
  fi
  local runs=()
  for m in "${all[@]}"; do runs+=(--run "$EXP/$m"); done
  local keepflag=()
  [ -n "$keep" ] && keepflag=(--keep "$keep")
  ideal_flags "$edit"
  local skip=()
  [ "$SIZE" = full ] && [ -n "${CELEBA:-}" ] || skip=(--labels-skip "$SYNTH_UNDRAWN")
  say "eval"
  "$BIN" eval "${runs[@]}" --classifier "$CLS" --edit "$edit" "${keepflag[@]}" "${IDEAL[@]}" "${skip[@]}" --n "$EVAL_N" --leak-n "$LEAK_N" \
    --format markdown --json "$EXP/results.json" --csv "$EXP/results.csv" "${DEV[@]}" >"$EXP/table.md"
  report "$title" "$attrs" "$edit" "$keep" "$first"
  say "report: $EXP/report.md"
}

# report TITLE ATTRS EDIT KEEP FIRST: the Markdown page of an experiment.
report() {
  local title=$1 attrs=$2 edit=$3 keep=$4 first=$5
  local r=$EXP/report.md
  {
    echo "# $title"
    echo
    echo "Size \`$SIZE\` (${IMG}x$IMG, $EPOCHS epochs per model, the vae $VAE_EPOCHS, seed $SEED, device $DEVICE), data \`$DATA\`."
    echo "Run attributes: $attrs. Edited: $edit. Kept: ${keep:-every other attribute the classifier knows}."
    echo "Recipe: \`--dz $DZ ${RECIPE[*]}\` (the vae: \`--dz $VAE_DZ\`), and \`--adv-steps $ADV_STEPS\` for csvae and condvae-info; csvae, condvae and condvae-info start from the vae's convolutions."
    [ "$EMA" != 0 ] && echo "csvae also trains with \`--ema $EMA\`, and is scored, edited and drawn with that moving average of its weights (not in the paper)."
    [ "$BALANCE" != 0 ] && echo "csvae also trains with \`--balance $BALANCE\`: each epoch draws its examples favouring rare label combinations (not in the paper)."
    [ "$PRIOR" != "$DESIGN_PRIOR" ] && echo "csvae's prior p(w|y) is \`--prior $PRIOR\` (mean and sd for y=1, then for y=0) rather than the design's $DESIGN_PRIOR."
    [ "$MEAN_GAP" != 0 ] && echo "csvae also trains with \`--mean-gap $MEAN_GAP${MEAN_GAP_ATTRS:+ --mean-gap-attrs $MEAN_GAP_ATTRS}\` (a penalty on the gap between z's class means; not in the paper)."
    echo "Reproduce: \`SIZE=$SIZE EPOCHS=$EPOCHS VAE_EPOCHS=$VAE_EPOCHS OUT=$OUT SEED=$SEED DZ=$DZ VAE_DZ=$VAE_DZ BETAS=$BETAS ADV_STEPS=$ADV_STEPS MEAN_GAP=$MEAN_GAP${MEAN_GAP_ATTRS:+ MEAN_GAP_ATTRS=$MEAN_GAP_ATTRS} EMA=$EMA BALANCE=$BALANCE PRIOR=$PRIOR bash experiments/$(basename "$0")\`."
    echo
    echo "## Scores"
    echo
    echo "Each of $EVAL_N test images (or all, if fewer) is edited to the opposite of its label and judged by"
    echo "the classifier: manipulation is the mean over the two directions of the share it judges to"
    echo "have the target value; preservation the share of edits in which its decisions on the kept"
    echo "attributes equal its decisions on the unedited reconstruction (same-label: the same for the"
    echo "edit to the image's own label, which for csvae resets w_j to that label's prior mean and so"
    echo "shows what the edit point alone discards; an identity for the other models); recon attr acc its accuracy"
    echo "on the reconstructions; leakage the test accuracy of a logistic regression predicting the"
    echo "label from the mean of z (chance: the majority rate), and the balanced accuracy of a"
    echo "class-weighted one (chance 0.5)."
    echo "The \`ideal\` row (synthetic faces; Eyeglasses, Smiling and Heavy_Makeup only) scores the same faces drawn"
    echo "again with only the edited attribute reversed, against the inputs: a perfect editor's scores,"
    echo "the ceiling of manipulation and preservation under this classifier."
    echo "The \`labels\` row is a reference for leakage, not a model: the same regressions fitted on each"
    echo "image's other labels instead of z (every label but the run's attributes and, for synthetic faces,"
    echo "those they do not draw: $SYNTH_UNDRAWN),"
    echo "the leakage of a z that kept every other labelled attribute exactly."
    echo
    cat "$EXP/table.md"
    echo
    echo "Classifier (trained on real images only), test accuracy:"
    echo
    echo '```'
    if [ -f "$CLS/accuracy.txt" ]; then cat "$CLS/accuracy.txt"; else cat "$CLS/metrics.json"; fi
    echo '```'
    echo
    echo "## Manipulation"
    echo
    for m in vae $MODELS; do echo "![$m](grids/manipulate-$m.png)"; done
    echo
    for f in "$EXP"/grids/traverse-*.png; do
      [ -f "$f" ] || continue
      echo "## Traversal: $(basename "$f" .png)"
      echo
      echo "![traverse](grids/$(basename "$f"))"
      echo
    done
    for f in "$EXP"/grids/interpolate-*.png; do
      [ -f "$f" ] || continue
      echo "## Interpolation: $(basename "$f" .png)"
      echo
      echo "![interpolate](grids/$(basename "$f"))"
      echo
    done
    for f in "$EXP"/grids/leak-*.png; do
      [ -f "$f" ] || continue
      echo "## What csvae's z still knows: $(basename "$f" .png)"
      echo
      echo "Faces moved along the direction in z that the leakage regression reads the attribute from"
      echo "(\`csvae-gpu leak\`), w kept; the last row is the mean change over test images."
      echo
      echo "![leak](grids/$(basename "$f"))"
      echo
    done
    if [ -f "$EXP/csvae/losses.png" ]; then
      echo "## csvae loss components over training"
      echo
      echo "![losses](csvae/losses.png)"
      echo
    fi
    echo "Edited images for independent scoring: \`edited/MODEL/*.png\`, listed with the attribute values"
    echo "each was meant to have in \`edited/MODEL/edits.csv\`. Machine-readable scores: \`results.json\`, \`results.csv\`."
  } >"$r.tmp"
  mv "$r.tmp" "$r"
}
