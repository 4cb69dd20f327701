#!/usr/bin/env bash
# Runs the Python peer (requests-oauthlib-uma, from PyPI, in a throw-away venv) and `uma fetch` against the
# same embedded Keycloak-dialect servers (`uma serve`), the same four GETs each, and prints what each
# client cost the servers. Not part of CI (it needs PyPI); run it by hand: scripts/side-by-side.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p uma-cli
uma=target/debug/uma
work=$(mktemp -d)
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q requests-oauthlib-uma

"$uma" serve --dialect keycloak --for 120 > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 50); do grep -q "requests received" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
issuer=$(awk '/issuer:/ {print $4}' "$work/serve.log")
rs=$(awk '/resource server:/ {print $3}' "$work/serve.log")
paths=(/api/a /api/a /api/b /api/a)
received() { grep -c '^  ' "$work/serve.log" || true; }

before=$(received)
OAUTHLIB_INSECURE_TRANSPORT=1 "$work/venv/bin/python" - "$issuer" "$rs" "${paths[@]}" <<'PY'
import sys
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib_uma import UMA2Session
issuer, rs, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
session = UMA2Session(client=LegacyApplicationClient(client_id="app"))
session.fetch_token(issuer + "/protocol/openid-connect/token", username="alice", password="alice-pw",
                    client_id="app", client_secret="app-secret")
print("python:", [session.get(rs + p).status_code for p in paths])
PY
sleep 0.3
python_cost=$(( $(received) - before ))

before=$(received)
urls=(); for p in "${paths[@]}"; do urls+=("$rs$p"); done
UMA_CLIENT_SECRET=app-secret UMA_PASSWORD=alice-pw "$uma" fetch --no-body --stats --allow-insecure-http \
  --issuer "$issuer" --client-id app --client-auth bearer --grant password --username alice "${urls[@]}"
sleep 0.3
rust_cost=$(( $(received) - before ))

echo
echo "requests the servers received for login + ${#paths[@]} GETs (/a, /a, /b, /a):"
echo "  requests-oauthlib-uma: $python_cost"
echo "  uma fetch:             $rust_cost"
echo "(the server log, one line per request:)"
sed -n '/requests received/,$p' "$work/serve.log"
