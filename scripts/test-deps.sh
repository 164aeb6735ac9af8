#!/usr/bin/env bash
# Installs everything `make test` needs on a fresh Debian machine, and
# nothing that is already there: the real Prometheus tools (promtool,
# Alertmanager), Chromium for the status-page test, and the third-party AWS
# emulators that keep socmond's own simulator honest (local-kms, dynalite).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"

apt_pkgs=()
command -v promtool >/dev/null 2>&1 || apt_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || apt_pkgs+=(prometheus-alertmanager)
# blackbox_exporter: the peer prober `make bench` measures socmond against.
command -v prometheus-blackbox-exporter >/dev/null 2>&1 || apt_pkgs+=(prometheus-blackbox-exporter)
command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm)
command -v buildah >/dev/null 2>&1 || apt_pkgs+=(buildah) # deploy: the image test
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  echo "test-deps: apt-get install ${apt_pkgs[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

# local-kms: a KMS emulator written by others (listens on $PORT).
if [ ! -x "$tools/bin/local-kms" ]; then
  echo "test-deps: go install local-kms"
  GOFLAGS=-mod=mod GOBIN="$tools/bin" go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
fi

# MinIO: an S3 server written by others (AGPLv3: run as a separate test
# server only, never imported), for S3 encryption and Object Lock. ~4 min.
if [ ! -x "$tools/bin/minio" ]; then
  echo "test-deps: go install minio (takes a few minutes)"
  GOFLAGS=-mod=mod GOBIN="$tools/bin" go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
fi

# dynalite: a DynamoDB emulator written by others, pinned by package-lock.json.
if [ ! -x "$root/test/emulators/node_modules/.bin/dynalite" ]; then
  echo "test-deps: npm ci dynalite"
  npm ci --prefix "$root/test/emulators" --no-audit --no-fund --loglevel=error
fi
echo "test-deps: ready"
