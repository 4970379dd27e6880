#!/usr/bin/env bash
# Heavy_Makeup while keeping Male, Receding_Hairline, Eyeglasses and Mustache.
source "$(dirname "$0")/lib.sh"
experiment makeup-keep Heavy_Makeup,Male,Receding_Hairline,Eyeglasses,Mustache Heavy_Makeup \
  Male,Receding_Hairline,Eyeglasses,Mustache "Heavy_Makeup, keeping Male, Receding_Hairline, Eyeglasses, Mustache"
