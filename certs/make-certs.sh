#!/usr/bin/env bash
# make-certs.sh — a private CA and a serving certificate for kate's admission webhook, made with openssl.
#
# The apiserver calls the webhook at https://<service>.<namespace>.svc and verifies that name against the
# serving cert's SANs (CN alone is not accepted), trusting only the caBundle in the webhook configuration.
#
# Usage: certs/make-certs.sh [--service kate-webhook] [--namespace kate-system] [--out certs/out]
#                            [--kustomize-dir deploy/kustomize | --no-kustomize] [--force]
# Writes to --out: ca.crt ca.key (ECDSA P-256, 5 years), tls.crt tls.key (ECDSA P-256, 1 year, serverAuth,
# SANs <svc>, <svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local), ca-bundle.b64.
# Copies tls.crt, tls.key and ca.crt into <kustomize-dir>/tls/ (kustomize only reads files below its own
# directory); the kustomization turns them into the Secret and copies ca.crt into the webhook's caBundle.
# An existing CA in --out is reused (so a re-run renews the serving cert without a new caBundle) unless --force.
# Prints the base64 caBundle on stdout (everything else goes to stderr).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
service=kate-webhook
namespace=kate-system
out="$here/out"
kdir="$root/deploy/kustomize"
force=0
ca_days=1825
leaf_days=365

die() { echo "make-certs: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --service) service="${2:?--service needs a value}"; shift 2 ;;
    --namespace) namespace="${2:?--namespace needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --kustomize-dir) kdir="${2:?--kustomize-dir needs a value}"; shift 2 ;;
    --no-kustomize) kdir=""; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
dns_label='^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
[[ "$service" =~ $dns_label ]] || die "--service '$service' is not a DNS label (lower case, digits, '-')"
[[ "$namespace" =~ $dns_label ]] || die "--namespace '$namespace' is not a DNS label"

mkdir -p "$out"
umask 077   # private keys readable by the owner only
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "$force" = 1 ] || [ ! -s "$out/ca.crt" ] || [ ! -s "$out/ca.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key"
  openssl req -x509 -new -sha256 -key "$out/ca.key" -days "$ca_days" -subj "/CN=$service CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$out/ca.crt"
  echo "make-certs: new CA $out/ca.crt (valid $ca_days days)" >&2
else
  echo "make-certs: reusing CA $out/ca.crt (--force for a new one)" >&2
fi

sans="DNS:$service,DNS:$service.$namespace,DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local"
cat > "$work/leaf.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$sans
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key"
openssl req -new -sha256 -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr"
openssl x509 -req -sha256 -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -days "$leaf_days" -extfile "$work/leaf.ext" -out "$work/tls.crt" 2>/dev/null
# PKCS#8 is what every TLS stack (OpenSSL 3, Go, cert-manager's output) reads.
openssl pkey -in "$work/tls.key" -out "$out/tls.key"
cp "$work/tls.crt" "$out/tls.crt"

# Prove what the apiserver will check: chain to the CA, serverAuth purpose, the SAN it dials.
openssl verify -CAfile "$out/ca.crt" -purpose sslserver -verify_hostname "$service.$namespace.svc" "$out/tls.crt" >&2 ||
  die "the new serving cert does not verify for $service.$namespace.svc"

chmod 0644 "$out/ca.crt" "$out/tls.crt"
bundle="$(base64 -w0 < "$out/ca.crt")"
printf '%s\n' "$bundle" > "$out/ca-bundle.b64"

if [ -n "$kdir" ]; then
  [ -f "$kdir/kustomization.yaml" ] || die "--kustomize-dir $kdir has no kustomization.yaml"
  mkdir -p "$kdir/tls"
  cp "$out/tls.crt" "$out/tls.key" "$out/ca.crt" "$kdir/tls/"
  echo "make-certs: wrote $kdir/tls/{tls.crt,tls.key,ca.crt}; now: kubectl apply -k $kdir" >&2
  if ! grep -q "^namespace: $namespace\$" "$kdir/kustomization.yaml"; then
    echo "make-certs: WARNING: $kdir/kustomization.yaml does not say 'namespace: $namespace'; the cert is for $service.$namespace.svc" >&2
  fi
fi
echo "make-certs: serving cert $out/tls.crt for $sans (valid $leaf_days days); caBundle (base64) on stdout" >&2
printf '%s\n' "$bundle"
