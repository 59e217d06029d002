#!/usr/bin/env bash
# Online lookup benchmark: quiver serve vs Redis vs an empty gRPC call, in one run.
# Usage: bench/online.sh [--entities N] [--seconds S] [--rate R] ...  (see --help)
# Installs Debian's redis-server when missing, builds Quiver, starts Redis on port 6390.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (Debian package)..." >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq redis-server >/dev/null; fi
fi
mvn -B -q -DskipTests -Dspotless.check.skip=true -pl server,bench -am package >/dev/null
work="$(mktemp -d)"
trap 'redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
redis-server --port 6390 --save '' --appendonly no --daemonize yes --dir "$work" --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "redis $(redis-server --version | grep -o 'v=[0-9.]*'), java $(java -version 2>&1 | head -1), $(nproc) cores" >&2
java -Xmx4g -jar bench/target/quiver-bench.jar --work "$work" "$@"
