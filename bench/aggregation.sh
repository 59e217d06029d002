#!/usr/bin/env bash
# The cost of exact, order-independent aggregation arithmetic against plain double sums.
# Usage: bench/aggregation.sh [ROWS]   (default 2,000,000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mvn -B -q -DskipTests -Dspotless.check.skip=true -pl bench -am package >/dev/null
java -cp bench/target/quiver-bench.jar dev.quiver.bench.AggregationBench "$@"
