#!/bin/sh
# Builds the example WASI modules from src/ with clang's wasm32-wasi target
# (Debian: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32).
# The built modules are committed, so the demo and the tests run without clang.
set -eu
cd "$(dirname "$0")"
for source in src/*.c; do
  name=$(basename "$source" .c)
  clang --target=wasm32-wasi -O2 -Wall -Wl,--strip-all -o "$name.wasm" "$source"
done
ls -l ./*.wasm
