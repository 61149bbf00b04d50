#!/usr/bin/env bash
# Checks the test OpenID provider by hand, with curl only: discovery, the
# /__test/ control API, and a code flow with PKCE and auto-login whose code
# comes back to a callback URL nobody listens on.
#   bash end2end/oidc/smoke.sh        (after `npm ci` in end2end/)
set -euo pipefail
cd "$(dirname "$0")"

OUT="$(mktemp -d)"
node provider.mjs --port 0 >"$OUT/stdout" 2>"$OUT/stderr" &
PROVIDER_PID=$!
trap 'kill "$PROVIDER_PID"; rm -rf "$OUT"' EXIT
for _ in $(seq 50); do grep -q '^READY ' "$OUT/stdout" && break; sleep 0.1; done
ISSUER="$(sed -n 's/^READY //p' "$OUT/stdout")"
[ -n "$ISSUER" ] || { cat "$OUT/stderr"; echo "FAIL: no READY line"; exit 1; }

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);console.log(JSON.stringify($1))})"; }
post() { curl -sf -X POST -H 'content-type: application/json' -d "${2:-}" "$ISSUER/__test/$1" >/dev/null; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
payload() { cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null || true; }

[ "$(wc -l <"$OUT/stdout")" = 1 ] || fail "stdout has more than the READY line"
curl -sf "$ISSUER/.well-known/openid-configuration" >"$OUT/discovery"
[ "$(json v.issuer <"$OUT/discovery")" = "\"$ISSUER\"" ] || fail "discovery issuer"
[ "$(json v.end_session_endpoint <"$OUT/discovery")" = "\"$ISSUER/session/end\"" ] || fail "end_session_endpoint"
ok "discovery at $ISSUER"

# Runs the code flow up to the callback; prints the callback URL.
authorize() {
  local port="$1" verifier="$2" location url jar="$OUT/cookies"
  local challenge; challenge="$(printf %s "$verifier" | openssl dgst -sha256 -binary | b64url)"
  url="$ISSUER/auth?client_id=regen-admin&response_type=code&scope=openid&state=s1&nonce=n1"
  url+="&redirect_uri=http%3A%2F%2F127.0.0.1%3A$port%2Fauth%2Foidc%2Fcallback"
  url+="&code_challenge=$challenge&code_challenge_method=S256"
  for _ in $(seq 10); do
    location="$(curl -s -o "$OUT/last-page" -b "$jar" -c "$jar" -w '%{redirect_url}' "$url")"
    if [ -z "$location" ] && [ -n "${FORM_USER:-}" ] && grep -q '<label for="login">User name</label>' "$OUT/last-page"; then
      location="$(curl -s -o "$OUT/last-page" -b "$jar" -c "$jar" -w '%{redirect_url}' \
        --data-urlencode "login=$FORM_USER" "$url/login")"
    fi
    [ -n "$location" ] || fail "no redirect from $url: $(cat "$OUT/last-page")"
    case "$location" in
      "http://127.0.0.1:$port/auth/oidc/callback"*) echo "$location"; return ;;
    esac
    url="$location"
  done
  fail "too many redirects"
}

token() {
  local callback="$1" port="$2" verifier="$3" code
  code="$(node -e 'console.log(new URL(process.argv[1]).searchParams.get("code"))' "$callback")"
  curl -s -u regen-admin:regen-admin-secret \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
    --data-urlencode "redirect_uri=http://127.0.0.1:$port/auth/oidc/callback" \
    --data-urlencode "code_verifier=$verifier" "$ISSUER/token"
}

VERIFIER="verifier-$(openssl rand -hex 32)"
post auto-login '{"user":"alice"}'
CALLBACK="$(authorize 41234 "$VERIFIER")"
case "$CALLBACK" in *state=s1*code=*|*code=*state=s1*) ;; *) fail "callback $CALLBACK" ;; esac
ok "auto-login as alice reached the callback on a random port"
ID_TOKEN="$(token "$CALLBACK" 41234 "$VERIFIER" | json v.id_token | tr -d '"')"
CLAIMS="$(printf %s "$ID_TOKEN" | payload)"
for want in '"sub":"sub-alice-0001"' '"preferred_username":"alice"' '"groups":["regen-admins","staff"]' \
            '"realm_access":{"roles":["regen-admins"]}' '"nonce":"n1"' '"aud":"regen-admin"'; do
  grep -qF "$want" <<<"$CLAIMS" || fail "ID token lacks $want: $CLAIMS"
done
ok "ID token carries alice's claims with scope openid alone"

post auto-login '{"user":"bob"}'
VERIFIER="verifier-$(openssl rand -hex 32)"
CALLBACK="$(authorize 5555 "$VERIFIER")"
CLAIMS="$(token "$CALLBACK" 5555 "$VERIFIER" | json v.id_token | tr -d '"' | payload)"
grep -qF '"sub":"sub-bob-0002"' <<<"$CLAIMS" || fail "auto-login switch to bob: $CLAIMS"
ok "auto-login switches users even with the provider's session cookie"

post users/bob '{"groups":["regen-admins"]}'
post next-id-token '{"tamper":"azp"}'
VERIFIER="verifier-$(openssl rand -hex 32)"
CALLBACK="$(authorize 5555 "$VERIFIER")"
CLAIMS="$(token "$CALLBACK" 5555 "$VERIFIER" | json v.id_token | tr -d '"' | payload)"
grep -qF '"groups":["regen-admins"]' <<<"$CLAIMS" || fail "group change: $CLAIMS"
grep -qF '"realm_access":{"roles":["regen-admins"]}' <<<"$CLAIMS" || fail "roles change: $CLAIMS"
grep -qF '"aud":["regen-admin","other"]' <<<"$CLAIMS" || fail "azp tamper: $CLAIMS"
grep -qF '"azp":"other"' <<<"$CLAIMS" || fail "azp tamper: $CLAIMS"
ok "group change and the azp tampering show in the next ID token"

post auto-login '{"user":null}'
rm -f "$OUT/cookies"
VERIFIER="verifier-$(openssl rand -hex 32)"
(FORM_USER=nobody authorize 5555 "$VERIFIER" >/dev/null 2>&1) && fail "an unknown user signed in"
grep -q 'There is no user named' "$OUT/last-page" || fail "no error for an unknown user"
CALLBACK="$(FORM_USER=carol authorize 5555 "$VERIFIER")"
TOKENS="$(token "$CALLBACK" 5555 "$VERIFIER")"
ID_TOKEN="$(json v.id_token <<<"$TOKENS" | tr -d '"')"
CLAIMS="$(printf %s "$ID_TOKEN" | payload)"
grep -qF '"sub":"sub-carol-0003"' <<<"$CLAIMS" || fail "form login as carol: $CLAIMS"
grep -qF 'preferred_username' <<<"$CLAIMS" && fail "carol has a preferred_username: $CLAIMS"
ok "the form refuses an unknown name and signs carol in"

curl -s -o /dev/null "$ISSUER/me" -H "authorization: Bearer $(json v.access_token <<<"$TOKENS" | tr -d '"')" \
  -w '%{http_code}' | grep -qx 200 || fail "userinfo"
ok "userinfo answers with the access token"

post next-id-token '{"tamper":"signature"}'
VERIFIER="verifier-$(openssl rand -hex 32)"
CALLBACK="$(authorize 5555 "$VERIFIER")"
FORGED="$(token "$CALLBACK" 5555 "$VERIFIER" | json v.id_token | tr -d '"')"
verify() {
  node --input-type=module -e '
    import * as jose from "jose";
    const [issuer, token] = process.argv.slice(1);
    const keys = jose.createRemoteJWKSet(new URL(issuer + "/jwks"));
    jose.jwtVerify(token, keys).then(() => console.log("valid"), (e) => console.log(e.code));
  ' "$ISSUER" "$1"
}
[ "$(verify "$ID_TOKEN")" = valid ] || fail "a plain ID token does not verify"
[ "$(verify "$FORGED")" = ERR_JWS_SIGNATURE_VERIFICATION_FAILED ] || fail "the forged ID token: $(verify "$FORGED")"
ok "a plain ID token verifies against the JWKS, the 'signature' one does not"

HINT_URL="$ISSUER/session/end?id_token_hint=$ID_TOKEN&client_id=regen-admin"
HINT_URL+="&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Flogin"
curl -s -b "$OUT/cookies" "$HINT_URL" | grep -q 'Sign out of Test IdP?' || fail "no logout confirmation"
[ "$(curl -sf "$ISSUER/__test/end-sessions" | json 'v.at(-1)')" = \
  '{"id_token_hint":true,"post_logout_redirect_uri":"http://127.0.0.1:5555/login"}' ] || fail "end-session with a hint"
ok "RP-initiated logout with id_token_hint shows the confirmation and is recorded"

for case in 'audience|"aud":"someone-else"' 'nonce|"nonce":"not-the-nonce-that-was-sent"' \
            'issuer|"iss":"http://issuer.invalid"' 'expired|exp' 'issued-in-future|iat'; do
  post next-id-token "{\"tamper\":\"${case%%|*}\"}"
  VERIFIER="verifier-$(openssl rand -hex 32)"
  CALLBACK="$(authorize 5555 "$VERIFIER")"
  CLAIMS="$(token "$CALLBACK" 5555 "$VERIFIER" | json v.id_token | tr -d '"' | payload)"
  case "${case%%|*}" in
    expired) [ "$(json 'v.exp < Date.now() / 1000 - 200 && v.iat < v.exp' <<<"$CLAIMS")" = true ] ;;
    issued-in-future) [ "$(json 'v.iat > Date.now() / 1000 + 500 && v.exp > v.iat' <<<"$CLAIMS")" = true ] ;;
    *) grep -qF "${case#*|}" <<<"$CLAIMS" ;;
  esac || fail "tamper ${case%%|*}: $CLAIMS"
done
VERIFIER="verifier-$(openssl rand -hex 32)"
CALLBACK="$(authorize 5555 "$VERIFIER")"
CLAIMS="$(token "$CALLBACK" 5555 "$VERIFIER" | json v.id_token | tr -d '"' | payload)"
grep -qF '"aud":"regen-admin"' <<<"$CLAIMS" && grep -qF '"nonce":"n1"' <<<"$CLAIMS" \
  && grep -qF "\"iss\":\"$ISSUER\"" <<<"$CLAIMS" || fail "a tampering outlived its token: $CLAIMS"
ok "each tampering alters the next ID token only"

OLD_KID="$(curl -sf "$ISSUER/jwks" | json v.keys[0].kid)"
post rotate-keys
NEW_KEYS="$(curl -sf "$ISSUER/jwks" | json 'v.keys.map(k=>k.kid)')"
[ "$NEW_KEYS" != "[$OLD_KID]" ] && [ "$(json v.length <<<"$NEW_KEYS")" = 1 ] || fail "rotation: $NEW_KEYS"
ok "rotate-keys serves one new key"

curl -s -o /dev/null "$ISSUER/session/end?client_id=regen-admin&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A9%2Flogin"
SESSIONS="$(curl -sf "$ISSUER/__test/end-sessions")"
[ "$(json 'v.at(-1)' <<<"$SESSIONS")" = '{"id_token_hint":false,"post_logout_redirect_uri":"http://localhost:9/login"}' ] \
  || fail "end-sessions: $SESSIONS"
ok "end-session requests are recorded"

post reset
[ "$(curl -sf "$ISSUER/jwks" | json v.keys[0].kid)" = "$OLD_KID" ] || fail "reset keeps the new key"
[ "$(curl -sf "$ISSUER/__test/end-sessions")" = '[]' ] || fail "reset keeps end-sessions"
ok "reset restores the first key"
echo "all good"
