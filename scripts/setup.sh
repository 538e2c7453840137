#!/usr/bin/env bash
# Install what ravine's build, tests and demo need, only what is missing.
# Idempotent: a second run installs nothing and touches no network.
set -euo pipefail

packages=(cmake make gcc clang pkg-config libcjson-dev wamerican python3 libclang-rt-14-dev
          emscripten chromium libxml2-utils libomp-dev
          python3-torch openmpi-bin libopenmpi-dev libopenblas-dev fortunes)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# node and npm may come from a nodejs package that bundles npm: check commands
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm packages for the browser tests (playwright-core drives Debian's chromium)
if [ -f web/package.json ] && [ ! -d web/node_modules/playwright-core ]; then
  echo "setup: installing npm packages for the web tests"
  (cd web && npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent)
fi
exit 0
