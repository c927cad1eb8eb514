#!/usr/bin/env bash
# Servers the tests start, from Debian's packages: Redis (the Celery broker, and the shared rate-limit
# store of the budget tests) and PostgreSQL (the Celery suite's metadata database). `install-services.sh
# redis` installs Redis only (what `make test` needs). Installs only what is missing; needs root
# (apt-get), as on CI.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if [ "${1:-all}" != redis ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v psql >/dev/null || missing+=(postgresql-client)
fi
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
