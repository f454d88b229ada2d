#!/bin/sh
# Builds __NAME__.wasm with componentize-js (npm install
# @bytecodealliance/componentize-js@__JS__, or portagent's scripts/toolchains).
# WASI HTTP is left out: the host does not provide it.
set -e
cd "$(dirname "$0")"
tool=$(command -v componentize-js || echo "${PORTAGENT_TOOLS:-/var/tmp/portagent-tools}/js/node_modules/.bin/componentize-js")
"$tool" plugin.js -w wit -n state-plugin -d http fetch-event -o __NAME__.wasm
echo "built $(pwd)/__NAME__.wasm"
