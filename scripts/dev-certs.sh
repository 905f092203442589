#!/usr/bin/env bash
# Makes a development CA and one certificate per node, for a TLS cluster file ("tls": { cert, key, ca }).
# For development and tests only: the CA key sits next to the certificates, unencrypted.
#
#   scripts/dev-certs.sh <out-dir> [node-id ...]        (default ids: n1 n2 n3)
#
# Writes <out-dir>/ca.pem and ca-key.pem (reused when present, so a second run adds or renews node certificates
# under the same CA), and for each id <id>.pem and <id>-key.pem: an EC P-256 key, valid 825 days, with the
# subjectAltNames 127.0.0.1, ::1 and localhost (add more with RAFTSCHED_CERT_SANS="DNS:n1.example,IP:10.0.0.1"),
# usable as both server and client certificate, since a node is both to its peers (mutual TLS).
set -euo pipefail

out=${1:?usage: scripts/dev-certs.sh <out-dir> [node-id ...]}
shift || true
ids=("$@")
[ ${#ids[@]} -gt 0 ] || ids=(n1 n2 n3)
command -v openssl >/dev/null || { echo "dev-certs: openssl not found" >&2; exit 1; }
mkdir -p "$out"
umask 077

if [ ! -s "$out/ca.pem" ] || [ ! -s "$out/ca-key.pem" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=raftsched dev CA $(date -u +%Y%m%dT%H%M%S)-$$" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$out/ca-key.pem" -out "$out/ca.pem" 2>/dev/null
fi

sans="IP:127.0.0.1,IP:::1,DNS:localhost${RAFTSCHED_CERT_SANS:+,$RAFTSCHED_CERT_SANS}"
for id in "${ids[@]}"; do
  case "$id" in *[!A-Za-z0-9._-]*|"") echo "dev-certs: bad node id \"$id\"" >&2; exit 2 ;; esac
  ext=$(mktemp)
  trap 'rm -f "$ext"' EXIT
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$id,$sans" >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$id" \
    -keyout "$out/$id-key.pem" -out "$out/$id.csr" 2>/dev/null
  openssl x509 -req -in "$out/$id.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
    -days 825 -sha256 -extfile "$ext" -out "$out/$id.pem" 2>/dev/null
  rm -f "$out/$id.csr" "$ext"
done
chmod 644 "$out"/*.pem
chmod 600 "$out"/*-key.pem
echo "dev-certs: CA $out/ca.pem; certificates for ${ids[*]} in $out"
