#!/usr/bin/env bash
# Makes sure Debian's poppler-utils is installed (pdftoppm and pdftotext, for covenant-pdf's tests).
set -euo pipefail
if command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null && command -v pdfinfo >/dev/null; then
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian's poppler-utils for the PDF tests" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq poppler-utils >&2
