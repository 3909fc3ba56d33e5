#!/usr/bin/env bash
# Audits the webhook's TLS with Debian's testssl (testssl.sh 3.0.x) on loopback and fails on what
# kube-apiserver's webhook client never needs and an attacker would like:
#   SSLv2/SSLv3/TLS 1.0/TLS 1.1 offered, any non-AEAD or non-forward-secret cipher suite,
#   client-initiated or insecure renegotiation, TLS compression (CRIME).
#
#   scripts/tls-audit.sh                          # builds kate, starts `kate webhook --self-signed`
#   KATE_BIN=.build-release/release/kate scripts/tls-audit.sh
#   TLS_AUDIT_TARGET=127.0.0.1:8443 scripts/tls-audit.sh   # audit a server that is already running
#
# Prints a summary and keeps testssl's JSON in $TLS_AUDIT_OUT (default .build-hardening/tls-audit/).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

TESTSSL="${TESTSSL:-$(command -v testssl || command -v testssl.sh || true)}"
[ -n "$TESTSSL" ] || { echo "error: testssl not installed (apt-get install testssl.sh)" >&2; exit 2; }
OUT="${TLS_AUDIT_OUT:-.build-hardening/tls-audit}"
mkdir -p "$OUT"
rm -f "$OUT/testssl.json"

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; }
trap cleanup EXIT

target="${TLS_AUDIT_TARGET:-}"
if [ -z "$target" ]; then
    if [ -z "${KATE_BIN:-}" ]; then
        echo "building kate (debug) in .build-hardening"
        KATE_ONLY=kate swift build --product kate --scratch-path .build-hardening 2>&1 | grep -E "error|Build complete" || true
        KATE_BIN="$(KATE_ONLY=kate swift build --product kate --scratch-path .build-hardening --show-bin-path)/kate"
    fi
    [ -x "$KATE_BIN" ] || { echo "error: no kate binary at $KATE_BIN" >&2; exit 2; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$KATE_BIN" webhook --self-signed --listen "127.0.0.1:$port" --ca-out "$OUT/ca.pem" --pull-secrets off \
        >"$OUT/webhook.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        curl -sk --max-time 1 "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { echo "error: kate webhook exited; log:" >&2; cat "$OUT/webhook.log" >&2; exit 2; }
        sleep 0.1
    done
    target="127.0.0.1:$port"
fi

echo "testssl $($TESTSSL --version 2>/dev/null | grep -o 'testssl *[0-9.]*' | head -1) against $target (takes about a minute)"
# -p protocols, -e every cipher per protocol, -f forward secrecy, -R renegotiation, -C compression.
"$TESTSSL" --quiet --color 0 --warnings batch --ip one --jsonfile "$OUT/testssl.json" -p -e -f -R -C "$target" \
    >"$OUT/testssl.txt" 2>&1
[ -s "$OUT/testssl.json" ] || { echo "error: testssl produced no JSON; see $OUT/testssl.txt" >&2; exit 2; }

python3 - "$OUT/testssl.json" <<'PY'
import json, re, sys
findings = json.load(open(sys.argv[1]))
by_id = {f["id"]: f["finding"] for f in findings}
problems = []

print("protocols:")
for pid, name, allowed in [("SSLv2", "SSLv2", False), ("SSLv3", "SSLv3", False), ("TLS1", "TLS 1.0", False),
                           ("TLS1_1", "TLS 1.1", False), ("TLS1_2", "TLS 1.2", True), ("TLS1_3", "TLS 1.3", True)]:
    finding = by_id.get(pid, "not tested")
    offered = "offered" in finding and "not offered" not in finding
    print(f"  {name:8} {finding}")
    if offered and not allowed:
        problems.append(f"{name} is offered")

print("cipher suites offered:")
suites = [f["finding"] for f in findings if f["id"].startswith("cipher_") or f["id"].startswith("cipher-")]
for s in suites:
    fields = s.split()
    iana = fields[-1] if fields else s
    # TLS 1.3 suites (TLS_AES_*, TLS_CHACHA20_*) are all AEAD with (EC)DHE key exchange.
    tls13 = iana.startswith("TLS_") and "_WITH_" not in iana
    aead = tls13 or any(m in iana for m in ("_GCM_", "_CHACHA20_POLY1305", "_CCM"))
    fs = tls13 or iana.startswith(("TLS_ECDHE_", "TLS_DHE_"))
    flags = [] if aead and fs else (["NOT AEAD"] if not aead else []) + (["NO FORWARD SECRECY"] if not fs else [])
    print(f"  {iana:48} {' '.join(flags) if flags else 'AEAD, forward secret'}")
    if not aead: problems.append(f"non-AEAD suite {iana}")
    if not fs: problems.append(f"non-forward-secret suite {iana}")
if not suites:
    problems.append("no cipher suites reported")

print("forward secrecy:   ", by_id.get("PFS", by_id.get("FS", "not tested")))
print("  ECDHE curves:    ", by_id.get("PFS_ECDHE_curves", by_id.get("FS_ECDHE_curves", "-")))
print("secure renegotiation (RFC 5746):", by_id.get("secure_renego", "not tested"))
print("client-initiated renegotiation: ", by_id.get("secure_client_renego", "not tested"))
print("TLS compression (CRIME):        ", by_id.get("CRIME_TLS", "not tested"))
renego = by_id.get("secure_client_renego", "")
if "not vulnerable" not in renego:
    problems.append(f"client-initiated renegotiation: {renego or 'not tested'}")
if re.search(r"vulnerable|not supported", by_id.get("secure_renego", ""), re.I):
    problems.append(f"insecure renegotiation: {by_id['secure_renego']}")
if "not vulnerable" not in by_id.get("CRIME_TLS", ""):
    problems.append(f"TLS compression: {by_id.get('CRIME_TLS', 'not tested')}")

if problems:
    print("\nFAIL:")
    for p in problems: print("  -", p)
    sys.exit(1)
print("\nPASS: TLS 1.2/1.3 only, AEAD + forward-secret suites only, no client renegotiation, no compression")
PY
