#!/usr/bin/env bash
# Installs the Debian packages shopseq needs (see README, "Dependencies").
#   scripts/install-deps.sh          build + run
#   scripts/install-deps.sh --test   also what the tests use (python3 + python3-yaml for JSON
#                                    and OpenAPI checks, curl for the serve test,
#                                    chromium + a font for the report's browser test)
# Root on our machines; elsewhere it uses sudo.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
pkgs=(build-essential cmake pkg-config zstd
      libzstd-dev zlib1g-dev libxxhash-dev libjansson-dev libopenblas-dev
      libmicrohttpd-dev liblmdb-dev)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(libcmocka-dev python3 python3-yaml chromium fonts-dejavu-core curl)
else
  pkgs+=(libcmocka-dev)   # CMake configures the test targets in every build
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
