#!/bin/sh
# Creates bench/.peer-venv with bench/peer/requirements.txt installed (skipped when a stamp
# says this very requirements.txt is installed) and prints the venv's python.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench=$(cd "$here/.." && pwd)
exec python3 "$bench/peer_site.py" ensure-venv "${1:-$bench/.peer-venv}"
