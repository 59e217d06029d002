#!/usr/bin/env bash
# Decoding throughput of Avro and Protobuf records against JSON, the same events in the same run.
# Usage: bench/decode.sh [RECORDS]   (default 200,000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mvn -B -q -DskipTests -Dspotless.check.skip=true -pl bench -am package >/dev/null
echo "java $(java -version 2>&1 | head -1), $(nproc) cores" >&2
java -Xmx1g -cp bench/target/quiver-bench.jar dev.quiver.bench.DecodeBench "$@"
