#!/usr/bin/env bash
# Started by Playwright (webServer): a fresh SQLite database with demo data,
# then the release binary, exactly as an operator would run it.
set -euo pipefail
cd "$(dirname "$0")"
: "${CARGO_TARGET_DIR:=$HOME/.cache/regen-admin/target}"
BIN="${REGEN_BIN:-$CARGO_TARGET_DIR/release/regen-admin}"
WORK="$(pwd)/test-results/server"
rm -rf "$WORK" && mkdir -p "$WORK"
export DATABASE_URL="sqlite://$WORK/e2e.db"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$(cd .. && pwd)/target/site}"
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3107}"
export REGEN_ENV_LABEL="e2e"
# Payload values the viewer hides (redaction.spec.ts); no other spec's
# documents use these keys or values.
export REGEN_REDACT_KEYS="password,apiKey,secret"
export REGEN_REDACT_VALUE_PATTERNS='^sk_live_'
# Target links for `insight` jobs (what createJob makes) only; target.spec.ts
# checks both a linked and an unlinked type.
export REGEN_TARGET_URL_TEMPLATES="insight=https://cms.example.com/insights/{targetId}/edit"
export RUST_LOG="${RUST_LOG:-warn}"
"$BIN" demo --admin-password "e2e-admin-password" > /dev/null
exec "$BIN" serve
