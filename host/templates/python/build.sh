#!/bin/sh
# Builds __NAME__.wasm with componentize-py (pip install componentize-py==__PY__,
# or portagent's scripts/toolchains).
set -e
cd "$(dirname "$0")"
tool=$(command -v componentize-py || echo "${PORTAGENT_TOOLS:-/var/tmp/portagent-tools}/py/bin/componentize-py")
"$tool" -d wit -w state-plugin componentize app -o __NAME__.wasm
echo "built $(pwd)/__NAME__.wasm"
