#!/usr/bin/env bash
# Install Debian's Chromium for tools/check_docs_browser.py when it is missing.
# CI runs as root on a fresh machine; elsewhere we only say what is needed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    command -v chromium
else
    echo "chromium is missing: install Debian's 'chromium' package (apt-get install chromium)" >&2
    exit 1
fi
