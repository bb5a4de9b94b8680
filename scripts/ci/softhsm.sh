#!/usr/bin/env bash
# Initialises a SoftHSM2 token for the PKCS#11 key-provider tests, in a folder of its own, and prints the
# environment that points at it as `export` lines:
#
#   eval "$(bash scripts/ci/softhsm.sh [DIR])"
#
# It installs nothing (`softhsm2` comes from Debian: .ci/run installs it). DIR defaults to a fresh
# temporary folder; the token store and softhsm2.conf go there, never into the system's /var/lib/softhsm.
# Settings come from the environment, with test defaults:
#   FLEETGATE_PKCS11_TOKEN_LABEL  token label                 (default fleetgate-test)
#   FLEETGATE_PKCS11_PIN          user PIN                    (default: 16 random hex characters)
#   FLEETGATE_PKCS11_SO_PIN       security-officer PIN        (default: 16 random hex characters)
# Printed: SOFTHSM2_CONF, FLEETGATE_PKCS11_MODULE (the library's path), FLEETGATE_PKCS11_TOKEN_LABEL and
# FLEETGATE_PKCS11_PIN. The PINs are test PINs for a throwaway token; production PINs never go through
# this script. Exit 3 (nothing printed on stdout) when SoftHSM2 is not installed, so callers can skip.
set -euo pipefail

dir="${1:-}"
if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/fleetgate-softhsm-XXXXXX")"; fi
mkdir -p "$dir/tokens"
chmod 700 "$dir" "$dir/tokens"

util="$(command -v softhsm2-util || true)"
module=""
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  /usr/local/lib/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so; do
  if [ -f "$candidate" ]; then module="$candidate"; break; fi
done
if [ -z "$util" ] || [ -z "$module" ]; then
  echo "softhsm.sh: SoftHSM2 is not installed (apt-get install softhsm2)" >&2
  exit 3
fi

random_pin() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
label="${FLEETGATE_PKCS11_TOKEN_LABEL:-fleetgate-test}"
pin="${FLEETGATE_PKCS11_PIN:-$(random_pin)}"
so_pin="${FLEETGATE_PKCS11_SO_PIN:-$(random_pin)}"

conf="$dir/softhsm2.conf"
cat >"$conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
chmod 600 "$conf"

SOFTHSM2_CONF="$conf" "$util" --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin" >&2

printf 'export SOFTHSM2_CONF=%q\n' "$conf"
printf 'export FLEETGATE_PKCS11_MODULE=%q\n' "$module"
printf 'export FLEETGATE_PKCS11_TOKEN_LABEL=%q\n' "$label"
printf 'export FLEETGATE_PKCS11_PIN=%q\n' "$pin"
