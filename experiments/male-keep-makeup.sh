#!/usr/bin/env bash
# Male while keeping Heavy_Makeup and Wearing_Lipstick: the two get their own
# subspaces (they are correlated with Male in the data) and must not change.
source "$(dirname "$0")/lib.sh"
experiment male-keep-makeup Male,Heavy_Makeup,Wearing_Lipstick Male Heavy_Makeup,Wearing_Lipstick \
  "Male, keeping Heavy_Makeup and Wearing_Lipstick"
