#!/usr/bin/env bash
# Debian's Chromium for the UI test: Playwright cannot download its own browsers here.
set -euo pipefail
command -v chromium >/dev/null && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian's chromium for the UI test..." >&2
$sudo apt-get install -y -qq chromium >/dev/null \
  || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null; }
command -v chromium >/dev/null
