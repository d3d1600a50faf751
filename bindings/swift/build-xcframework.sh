#!/usr/bin/env bash
# Builds bindings/swift/PesaKitFFI.xcframework (static libraries for iOS devices, the iOS
# simulator and macOS, with the PesaKitFFI header and module map) and the matching
# generated Swift, following the standard UniFFI recipe.
#
#   bindings/swift/build-xcframework.sh
#
# Needs macOS with Xcode (xcodebuild, lipo) and the Rust targets
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios \
#                     aarch64-apple-darwin x86_64-apple-darwin
# Anywhere else it stops with a message and builds nothing.
#
# UNVERIFIED: written to the standard recipe; the project's machines are Linux without
# Xcode, so this script has never run there.
#
# Steps:
#   1. cargo build --release -p pesakit-ffi --target T, for each target above
#   2. lipo: aarch64-apple-ios-sim + x86_64-apple-ios -> one simulator library;
#            aarch64-apple-darwin + x86_64-apple-darwin -> one macOS library
#   3. uniffi-bindgen generate --library (the aarch64-apple-darwin dylib of this same build)
#      --language swift --config uniffi.toml, so the Swift and the libraries agree
#      (a checksum mismatch at load time means they came from different builds)
#   4. a headers directory: PesaKitFFI.h + module.modulemap
#   5. xcodebuild -create-xcframework -library … -headers … (x3) -output PesaKitFFI.xcframework
#   6. copies PesaKit.swift and PesaKitFFI.h into Sources/ (ignored by git), as
#      scripts/package-swift does on Linux
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [ "$(uname -s)" != "Darwin" ]; then
  echo "build-xcframework.sh: an XCFramework needs macOS with Xcode; this is $(uname -s). Nothing was built." >&2
  echo "  (On Linux, scripts/package-swift assembles the package against lib/libpesakit_ffi.so instead.)" >&2
  exit 1
fi
for tool in xcodebuild lipo cargo rustup; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-xcframework.sh: '$tool' not found. Install Xcode (and select it with xcode-select) and a Rust toolchain." >&2
    exit 1
  fi
done
if ! xcodebuild -version >/dev/null 2>&1; then
  echo "build-xcframework.sh: xcodebuild does not run: the full Xcode is needed, not only the command line tools" >&2
  echo "  (sudo xcode-select -s /Applications/Xcode.app/Contents/Developer)." >&2
  exit 1
fi

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
installed="$(rustup target list --installed)"
missing=()
for target in "${targets[@]}"; do
  grep -qx "$target" <<<"$installed" || missing+=("$target")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-xcframework.sh: missing Rust targets; run: rustup target add ${missing[*]}" >&2
  exit 1
fi

cd "$repo"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac

# 1. The library for every Apple target.
for target in "${targets[@]}"; do
  echo "build-xcframework.sh: cargo build --release -p pesakit-ffi --target $target"
  cargo build --quiet --release -p pesakit-ffi --target "$target"
done
lib() { echo "$target_dir/$1/release/libpesakit_ffi.a"; }

work="$repo/build/xcframework"
rm -rf "$work"
mkdir -p "$work/ios" "$work/ios-simulator" "$work/macos" "$work/headers" "$work/generated"

# 2. Fat libraries where two architectures share a platform.
cp "$(lib aarch64-apple-ios)" "$work/ios/libpesakit_ffi.a"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/ios-simulator/libpesakit_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/macos/libpesakit_ffi.a"

# 3. The Swift bindings, generated from this build (unstripped: it carries the metadata).
cargo build --quiet -p uniffi-bindgen
"$target_dir/debug/uniffi-bindgen" generate \
  --library "$target_dir/aarch64-apple-darwin/release/libpesakit_ffi.dylib" \
  --language swift --no-format --out-dir "$work/generated" --config uniffi.toml >/dev/null
for file in PesaKit.swift PesaKitFFI.h PesaKitFFI.modulemap; do
  [ -f "$work/generated/$file" ] || { echo "build-xcframework.sh: uniffi-bindgen did not write $file" >&2; exit 1; }
done

# 4. Headers: the generated header and module map (the module map must be named
#    module.modulemap inside an XCFramework; its `use "Darwin"` is right on Apple platforms).
cp "$work/generated/PesaKitFFI.h" "$work/headers/PesaKitFFI.h"
cp "$work/generated/PesaKitFFI.modulemap" "$work/headers/module.modulemap"

# 5. The XCFramework.
rm -rf "$here/PesaKitFFI.xcframework"
xcodebuild -create-xcframework \
  -library "$work/ios/libpesakit_ffi.a" -headers "$work/headers" \
  -library "$work/ios-simulator/libpesakit_ffi.a" -headers "$work/headers" \
  -library "$work/macos/libpesakit_ffi.a" -headers "$work/headers" \
  -output "$here/PesaKitFFI.xcframework"

# 6. The generated Swift that matches it.
mkdir -p "$here/Sources/PesaKit" "$here/Sources/PesaKitFFI"
cp "$work/generated/PesaKit.swift" "$here/Sources/PesaKit/PesaKit.swift"
cp "$work/generated/PesaKitFFI.h" "$here/Sources/PesaKitFFI/PesaKitFFI.h"

echo "build-xcframework.sh: built $here/PesaKitFFI.xcframework (ios-arm64, ios-arm64_x86_64-simulator, macos-arm64_x86_64)"
echo "  and copied the matching PesaKit.swift into Sources/PesaKit. Next: cd bindings/swift && swift build"
