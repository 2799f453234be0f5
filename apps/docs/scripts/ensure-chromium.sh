#!/usr/bin/env bash
# Installs Debian's chromium (for @dingtalk-gateway/docs' browser test) unless /usr/bin/chromium
# is already there. Needs root (or passwordless sudo) and the Debian package mirrors.
# Usage, e.g. from .ci/run:  apps/docs/scripts/ensure-chromium.sh
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  echo "ensure-chromium: $CHROMIUM is present"
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo -n)
else
  echo "ensure-chromium: $CHROMIUM is missing and installing it needs root (or sudo)" >&2
  exit 1
fi

echo "ensure-chromium: $CHROMIUM is missing, installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y chromium

if [[ ! -x "$CHROMIUM" ]]; then
  echo "ensure-chromium: apt-get install finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
