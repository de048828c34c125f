#!/usr/bin/env bash
# Builds one libFuzzer target (libFuzzer + AddressSanitizer) into .build/fuzz/<target>.
#
# The fuzzers compile the package's sources with swiftc directly, not through SwiftPM, so
# every module can be instrumented. A target's library modules are built once each into
# .build/fuzz/modules/ (one object and its .swiftmodule, rebuilt when a source is newer) and
# linked into the target. Every module is built with `-O`, bounds and overflow checks on,
# including those the package builds with `-Ounchecked`: a check that fires here is a bug
# that is undefined behaviour in the release build.
#
# Usage: Fuzz/build.sh TARGET     (http-parser, json, interactions, log-segment, snapshot,
#                                  recommend-body)
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFTC=${SWIFTC:-swiftc}
OUT=.build/fuzz
MODULES=$OUT/modules
FLAGS=(-O -g -sanitize=fuzzer,address -parse-as-library -I "$MODULES" -I "$MODULES/CPrefetch" -I "$MODULES/CBuildInfo" -I Sources/CZlib -I Sources/CCurl -I Sources/CEpoll)
mkdir -p "$MODULES/CPrefetch"
# SwiftPM writes the module map of a C target with an include/ folder; here it is written by hand.
printf 'module CPrefetch {\n    header "%s"\n    export *\n}\n' "$PWD/Sources/CPrefetch/include/CPrefetch.h" > "$MODULES/CPrefetch/module.modulemap.new"
cmp -s "$MODULES/CPrefetch/module.modulemap.new" "$MODULES/CPrefetch/module.modulemap" 2>/dev/null \
  && rm "$MODULES/CPrefetch/module.modulemap.new" || mv "$MODULES/CPrefetch/module.modulemap.new" "$MODULES/CPrefetch/module.modulemap"

# cmodule NAME: a C target with an include/ folder, its module map written by hand and its
# one .c file compiled to $MODULES/NAME.o (linked like a Swift module's object).
cmodule() {
  local name=$1
  mkdir -p "$MODULES/$name"
  printf 'module %s {\n    header "%s"\n    export *\n}\n' "$name" "$(ls "$PWD/Sources/$name/include/"*.h)" > "$MODULES/$name/module.modulemap"
  fresh "$MODULES/$name.o" "Sources/$name" && return 0
  echo "fuzz: building C module $name"
  clang -O1 -g -fsanitize=address -I "Sources/$name/include" -c Sources/"$name"/*.c -o "$MODULES/$name.o" > "$MODULES/$name.log" 2>&1 \
    || { cat "$MODULES/$name.log"; echo "fuzz: building $name failed"; exit 1; }
}

# The objects of the modules built (or found fresh) so far in this run: modules are listed in
# dependency order, so each later one is rebuilt when an earlier one changed (a layout change
# in one module must reach the code of every module compiled against it).
DEPS=()

# True when $1 exists and nothing after it (sources, this script) is newer.
fresh() {
  local out=$1; shift
  [ -e "$out" ] && [ -z "$(find "$@" "$0" -newer "$out" 2>/dev/null | head -1)" ]
}

# compile LOG COMMAND...: runs swiftc quietly, shows its output when it fails.
compile() {
  local log=$1; shift
  "$SWIFTC" "$@" > "$log" 2>&1 || { cat "$log"; echo "fuzz: building $log failed"; exit 1; }
}

# module NAME SWIFT_VERSION [EXTRA_FLAG...] -- SOURCES...: a library module, whole-module.
module() {
  local name=$1 version=$2; shift 2
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  if fresh "$MODULES/$name.o" "$@" "${DEPS[@]}"; then DEPS+=("$MODULES/$name.o"); return 0; fi
  echo "fuzz: building module $name"
  compile "$MODULES/$name.log" "${FLAGS[@]}" "${extra[@]}" -swift-version "$version" -module-name "$name" -wmo \
    -emit-module -emit-module-path "$MODULES/$name.swiftmodule" -c "$@" -o "$MODULES/$name.o"
  # swiftc leaves an identical object untouched; its time must say it is fresh.
  touch "$MODULES/$name.o"
  DEPS+=("$MODULES/$name.o")
}

# target NAME SWIFT_VERSION "OBJECTS" [LINK_FLAG...] -- SOURCES...: the fuzzer binary.
target() {
  local name=$1 version=$2 objects=$3; shift 3
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  local inputs=("$@")
  for o in $objects; do inputs+=("$MODULES/$o.o"); done
  fresh "$OUT/$name" "${inputs[@]}" && return 0
  echo "fuzz: building $name (libFuzzer + AddressSanitizer)"
  compile "$OUT/$name.log" "${FLAGS[@]}" -swift-version "$version" -module-name "$(echo "$name" | tr -d -)_fuzz" \
    "$@" $(for o in $objects; do echo "$MODULES/$o.o"; done) "${extra[@]}" -o "$OUT/$name"
}

# The Swift files under each directory, sorted (targets may have folders).
sources() { find "$@" -name '*.swift' | LC_ALL=C sort; }

case "${1:-}" in
  http-parser)
    module UnfoldJSON 6 -- $(sources Sources/UnfoldJSON)
    target http-parser 6 "UnfoldJSON" -- $(sources Sources/UnfoldHTTP/Parser Sources/UnfoldHTTP/Message) Fuzz/HTTPParserFuzz.swift
    ;;
  json)
    # JSONValue.swift imports UnfoldHTTP for its status codes.
    module UnfoldJSON 6 -- $(sources Sources/UnfoldJSON)
    module UnfoldMetrics 6 -- $(sources Sources/UnfoldMetrics)
    module UnfoldHTTP 6 -- $(sources Sources/UnfoldHTTP)
    target json 6 "UnfoldJSON UnfoldMetrics UnfoldHTTP" -- Sources/UnfoldService/Routes/JSONParser.swift Sources/UnfoldService/Routes/JSONValue.swift \
      Sources/UnfoldService/Routes/RequestError.swift Fuzz/JSONParserFuzz.swift
    ;;
  recommend-body)
    # The whole service: the fast decoder and RecommendRequest live among the routes.
    [ -d .build/checkouts/swift-log/Sources/Logging ] || swift package resolve
    module Logging 5 -package-name swift_log -- $(sources .build/checkouts/swift-log/Sources/Logging)
    cmodule CBuildInfo
    module UnfoldJSON 6 -- $(sources Sources/UnfoldJSON)
    module UnfoldMetrics 6 -- $(sources Sources/UnfoldMetrics)
    module UnfoldHTTP 6 -- $(sources Sources/UnfoldHTTP)
    module UnfoldMath 5 -- $(sources Sources/UnfoldMath)
    module UnfoldData 6 -enable-testing -- $(sources Sources/UnfoldData)
    module UnfoldModels 5 -- $(sources Sources/UnfoldModels)
    module UnfoldSnapshot 6 -- $(sources Sources/UnfoldSnapshot)
    module UnfoldServing 5 -- $(sources Sources/UnfoldServing)
    module UnfoldService 6 -enable-testing -- $(sources Sources/UnfoldService)
    target recommend-body 6 "CBuildInfo Logging UnfoldJSON UnfoldMetrics UnfoldHTTP UnfoldMath UnfoldData UnfoldModels UnfoldSnapshot UnfoldServing UnfoldService" \
      -lz -lcurl -- Fuzz/RecommendBodyFuzz.swift
    ;;
  interactions | log-segment)
    module UnfoldMath 5 -- $(sources Sources/UnfoldMath)
    # -enable-testing: the harnesses reach internal entry points (`InteractionLog.decode`).
    module UnfoldData 6 -enable-testing -- $(sources Sources/UnfoldData)
    if [ "$1" = interactions ]; then source=Fuzz/InteractionReaderFuzz.swift; else source=Fuzz/LogSegmentFuzz.swift; fi
    target "$1" 6 "UnfoldMath UnfoldData" -lz -lcurl -- "$source" Fuzz/FuzzScratch.swift
    ;;
  snapshot)
    module UnfoldMath 5 -- $(sources Sources/UnfoldMath)
    module UnfoldModels 5 -- $(sources Sources/UnfoldModels)
    module UnfoldSnapshot 6 -- $(sources Sources/UnfoldSnapshot)
    target snapshot 6 "UnfoldMath UnfoldModels UnfoldSnapshot" -lz -- Fuzz/SnapshotFuzz.swift Fuzz/FuzzScratch.swift
    ;;
  *)
    echo "usage: Fuzz/build.sh http-parser|json|interactions|log-segment|snapshot|recommend-body" >&2
    exit 2
    ;;
esac
