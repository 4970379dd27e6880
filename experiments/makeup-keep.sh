#!/usr/bin/env bash
# Heavy_Makeup while keeping Male, Receding_Hairline, Eyeglasses and Mustache.
# At SIZE=small and medium (where its csvae met all three targets on three seeds' test splits by
# the project's classifier, settings unchanged) csvae, condvae and condvae-info have a z of 16 dimensions,
# not 64: with 64, csvae's z kept gender and the makeup's correlates,
# thinly, in room the decoder hardly uses, and a linear probe read them.
# Dz 16, started from the convolutions of a vae of the usual size (64),
# met all three targets on the validation splits of two seeds
# (experiments/README.md, "The size of z"); with a vae of 16 as well, its
# csvae added makeup less often.
# At SIZE=medium its csvae also draws its training faces favouring rare label
# combinations (--balance 0.5, as the Male recipe's; not in the paper): most
# faces without makeup are men, and men wear it in 2% of the faces, so the
# makeup its edits added was pale; with the draws, its edits add makeup to
# 0.957 and 0.978 of the faces without it on seeds 1 and 2's validation
# splits, against 0.872 and 0.913, keeping as much (Rule 17,
# experiments/README.md, "Heavy_Makeup's pale makeup at SIZE=medium").
if [ "${SIZE:-small}" != full ]; then
  DZ=${DZ:-16} VAE_DZ=${VAE_DZ:-64}
fi
if [ "${SIZE:-small}" = medium ]; then
  BALANCE=${BALANCE:-0.5}
fi
source "$(dirname "$0")/lib.sh"
experiment makeup-keep Heavy_Makeup,Male,Receding_Hairline,Eyeglasses,Mustache Heavy_Makeup \
  Male,Receding_Hairline,Eyeglasses,Mustache "Heavy_Makeup, keeping Male, Receding_Hairline, Eyeglasses, Mustache"
