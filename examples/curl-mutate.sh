#!/usr/bin/env bash
# Posts examples/admission-review.json to a running `kate webhook --self-signed` (as the apiserver
# would, with its ?timeout= query) and prints the AdmissionReview response.
# Usage: examples/curl-mutate.sh [https://localhost:8443] [CA file, default ./kate-ca.pem]
set -euo pipefail
URL="${1:-https://localhost:8443}"
CA="${2:-./kate-ca.pem}"
cd "$(dirname "$0")/.."
curl -sS --fail-with-body --cacert "$CA" \
    -H 'Content-Type: application/json' \
    --data-binary @examples/admission-review.json \
    "$URL/mutate?timeout=10s"
echo
