#!/usr/bin/env bash
# test-services.sh runs the test suite against real PostgreSQL, Redis, MinIO
# and Mailpit: it starts whatever is missing with scripts/services.sh, then runs
# go test with the TEST_* environment that script prints. With
# TEST_REQUIRE_SERVICES=1 a test that cannot reach a service fails instead of
# being skipped.
#
# Usage: scripts/test-services.sh [go test flags and packages]
#   no arguments:  go test -race -count=1 ./...
#   with some:     go test -race -count=1 ARGS...   (name the packages too)
# The services keep running afterwards; scripts/services.sh stop ends them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# An assignment, not eval "$(...)", so a failed start stops this script.
svc_env=$(scripts/services.sh)
eval "$svc_env"

if (($# == 0)); then
	set -- ./...
fi
exec go test -race -count=1 "$@"
