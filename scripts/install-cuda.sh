#!/usr/bin/env bash
# Installs what the build needs beyond Go and gcc, when it is missing: the
# CUDA 11.8 toolkit (nvcc, ptxas, fatbinary, cuda.h, libcuda.so) from Debian
# bookworm's non-free component, about 3 minutes and 1.6 GB; and g++, which
# cgo needs for the kernel emulator (kernels/emu). Idempotent; needs root (or
# sudo) and apt when something is missing.
set -euo pipefail
need=()
command -v nvcc >/dev/null 2>&1 || need+=(nvidia-cuda-toolkit)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  list=/etc/apt/sources.list.d/debian-nonfree.sources
  if [[ " ${need[*]} " == *" nvidia-cuda-toolkit "* ]] && [ ! -f "$list" ]; then
    $SUDO tee "$list" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  echo "install-cuda.sh: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
nvcc --version | tail -n 1
g++ --version | head -n 1
