#!/usr/bin/env bash
# Eyeglasses: add and remove eyeglasses with csvae, condvae, condvae-info and
# vae; every other attribute the classifier knows must stay. See lib.sh for SIZE.
source "$(dirname "$0")/lib.sh"
experiment eyeglasses Eyeglasses Eyeglasses "" "Eyeglasses"
