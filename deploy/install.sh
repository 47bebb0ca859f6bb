#!/bin/sh
# Install WallTrack with its locked runtime dependencies into a virtualenv:
#
#     sh deploy/install.sh VENV [APP_DIR]
#
# The Dockerfile's builder stage runs exactly this (VENV=/opt/venv, APP_DIR=/app), a systemd
# host runs it once per upgrade (docs/operations.md), and tests/deploy runs it in a fresh
# virtualenv. Runtime dependencies only, no dev extras: requirements.lock is the constraints
# file, so every package pip picks is at its locked version (the test checks that nothing
# outside the lock came in). WallTrack itself is installed editable from APP_DIR so that
# server.py, jobs/ and data/ sit beside the package as they do in a checkout.
# Set PYTHON to choose the interpreter (default python3, which must be 3.11 or newer).
set -eu

venv=${1:?usage: sh deploy/install.sh VENV [APP_DIR]}
app=${2:-.}
python=${PYTHON:-python3}

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
    --constraint "$app/requirements.lock" --editable "$app"
# A dependency missing from the lock or a conflicting pin fails here, not at run time.
"$venv/bin/python" -m pip check --disable-pip-version-check
