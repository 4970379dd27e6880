#!/usr/bin/env bash
# Heavy_Makeup while keeping Male, Receding_Hairline, Eyeglasses and Mustache.
# At SIZE=small every model has a z of 16 dimensions, not 64: at 64 the
# unused room of z held gender and the makeup's correlates where the
# adversary could not see them, and the smaller z met all three targets on
# the validation splits of two seeds (experiments/README.md, "The size of z").
[ "${SIZE:-small}" = small ] && DZ=${DZ:-16}
source "$(dirname "$0")/lib.sh"
experiment makeup-keep Heavy_Makeup,Male,Receding_Hairline,Eyeglasses,Mustache Heavy_Makeup \
  Male,Receding_Hairline,Eyeglasses,Mustache "Heavy_Makeup, keeping Male, Receding_Hairline, Eyeglasses, Mustache"
