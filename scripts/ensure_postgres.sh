#!/usr/bin/env bash
# Debian's PostgreSQL server binaries, for the test stack's Prefect server database
# (deployments/postgres.py starts a private cluster on a loopback port; nothing system-wide runs).
# Installs only when no initdb is found.
set -euo pipefail
have_all() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null
}
have_all && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
PACKAGES=(postgresql)
echo "Installing Debian's PostgreSQL for the test stack's Prefect server..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null \
  || { $sudo apt-get update -qq \
       && $sudo apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
have_all
