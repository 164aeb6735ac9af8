#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 3s):
# briefly inside `make test`, for longer with `make fuzz FUZZTIME=5m`.
# Targets are found by name, so a new Fuzz function is picked up without
# editing this script. New crashers land in testdata/fuzz/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-3s}
status=0
while IFS=: read -r file name; do
  pkg="./$(dirname "$file")"
  echo "fuzz: $pkg $name ($fuzztime)"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 3s "$pkg" >/tmp/socmond-fuzz.$$ 2>&1; then
    cat /tmp/socmond-fuzz.$$
    status=1
  fi
done < <(grep -rhoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' --with-filename . | grep -v '/.tools/' | sed -E 's/^\.\///; s/:func /:/')
rm -f /tmp/socmond-fuzz.$$
exit $status
