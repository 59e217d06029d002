#!/usr/bin/env bash
# Point-in-time export benchmark: quiver export vs DuckDB's ASOF LEFT JOIN on the same Parquet files.
# Usage: bench/export.sh [--entity-rows N] [--history N] [--entities N] [--heap 2g]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mvn -B -q -DskipTests -Dspotless.check.skip=true -pl server,bench -am package >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "java $(java -version 2>&1 | head -1), $(nproc) cores" >&2
java -Xmx4g -cp bench/target/quiver-bench.jar dev.quiver.bench.ExportBench --work "$work" "$@"
