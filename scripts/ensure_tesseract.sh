#!/usr/bin/env bash
# Debian's Tesseract with its English data, for OCR of scanned papers (paperflow/ocr.py).
# Installs only when the `tesseract` command or the English data is missing.
set -euo pipefail
have_all() {
  command -v tesseract >/dev/null || return 1
  tesseract --list-langs 2>/dev/null | grep -qx eng
}
have_all && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
PACKAGES=(tesseract-ocr tesseract-ocr-eng)
echo "Installing Debian's tesseract-ocr for OCR of scanned papers..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null \
  || { $sudo apt-get update -qq \
       && $sudo apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
have_all
