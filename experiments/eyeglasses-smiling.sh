#!/usr/bin/env bash
# Eyeglasses and Smiling: one model of both attributes, each edited in turn
# (the other must stay). See lib.sh for SIZE.
source "$(dirname "$0")/lib.sh"
experiment eyeglasses-smiling Eyeglasses,Smiling Eyeglasses,Smiling "" "Eyeglasses and Smiling"
