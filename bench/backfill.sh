#!/usr/bin/env bash
# Backfill throughput of a new view from the source archive, against live ingestion of the same
# records from Kafka and a raw KafkaConsumer, in one run.
# Usage: bench/backfill.sh [RECORDS] [PARTITIONS]   (default 1,000,000 and 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mvn -B -q -DskipTests -Dspotless.check.skip=true -pl bench -am package >/dev/null
java -Xmx4g -cp bench/target/quiver-bench.jar dev.quiver.bench.BackfillBench "$@"
