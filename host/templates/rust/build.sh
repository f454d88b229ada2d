#!/bin/sh
# Builds __NAME__.wasm, a WebAssembly component (needs: rustup target add wasm32-wasip2).
set -e
cd "$(dirname "$0")"
cargo build --release --target wasm32-wasip2
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/__CRATE__.wasm" __NAME__.wasm
echo "built $(pwd)/__NAME__.wasm"
