#!/usr/bin/env bash
# Builds the socmond container image with buildah, offline: base images
# cannot be pulled here, so this first builds two local bases from scratch
# and passes them to the Dockerfile's BUILDER_IMAGE and BASE_IMAGE arguments:
#   localhost/socmond-gobuilder:local  the host's Go toolchain (GOROOT), no shell
#   localhost/socmond-static:local     CA certificates, /etc/passwd with
#                                      nonroot (65532), /tmp — what
#                                      distroless static provides
# Modules come from the host's module cache, mounted read-only with
# GOPROXY=off, and the host's build cache is shared, so the build needs no
# network and recompiles nothing the host has already compiled.
#
# Environment: IMAGE (default localhost/socmond:$VERSION), VERSION, REVISION,
# BUILDAH_FLAGS (global buildah flags, e.g. --root/--runroot/--storage-driver
# for a private store, as the image test uses).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v buildah >/dev/null 2>&1; then
  echo "image: apt-get install buildah"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends buildah >/dev/null
fi

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=${REVISION:-$(git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)}
IMAGE=${IMAGE:-localhost/socmond:$VERSION}
# shellcheck disable=SC2206 # word splitting of the flags is intended
bflags=(${BUILDAH_FLAGS:---storage-driver vfs})
bh() { buildah "${bflags[@]}" "$@"; }

goroot=$(go env GOROOT)
modcache=$(go env GOMODCACHE)
gover=$(go env GOVERSION)
gocache=$(go env GOCACHE)
go mod download # fill the host's module cache; the build reads only that
# Compile on the host with the image's flags first: the build below shares
# this build cache, so inside the image only the link step is left.
CGO_ENABLED=0 go build -trimpath -o /dev/null ./cmd/socmond

# Builder base: the host's Go toolchain, tagged by its version so an upgrade
# rebuilds it.
builder="localhost/socmond-gobuilder:$gover"
if ! bh inspect --type image "$builder" >/dev/null 2>&1; then
  echo "image: building $builder from $goroot"
  c=$(bh from scratch)
  bh copy "$c" "$goroot" /usr/local/go >/dev/null
  mnt=$(bh mount "$c")
  mkdir -p "$mnt/tmp" "$mnt/go" && chmod 1777 "$mnt/tmp"
  bh umount "$c" >/dev/null
  bh config --env PATH=/usr/local/go/bin:/usr/bin:/bin --env GOPATH=/go --env HOME=/tmp \
    --env GOCACHE=/tmp/go-build "$c"
  bh commit -q "$c" "$builder" >/dev/null
  bh rm "$c" >/dev/null
fi

# Final base: what gcr.io/distroless/static-debian12:nonroot holds that a
# static Go binary needs.
base="localhost/socmond-static:local"
if ! bh inspect --type image "$base" >/dev/null 2>&1; then
  echo "image: building $base"
  c=$(bh from scratch)
  mnt=$(bh mount "$c")
  mkdir -p "$mnt/etc/ssl/certs" "$mnt/tmp" "$mnt/home/nonroot"
  chmod 1777 "$mnt/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$mnt/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$mnt/etc/group"
  chown 65532:65532 "$mnt/home/nonroot"
  bh umount "$c" >/dev/null
  bh config --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt --user 65532:65532 "$c"
  bh commit -q "$c" "$base" >/dev/null
  bh rm "$c" >/dev/null
fi

echo "image: building $IMAGE"
bh bud --isolation chroot --pull-never -q \
  --build-arg BUILDER_IMAGE="$builder" --build-arg BASE_IMAGE="$base" \
  --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" --build-arg GOPROXY=off \
  -v "$modcache:/go/pkg/mod:ro" -v "$gocache:/tmp/go-build" \
  -f Dockerfile -t "$IMAGE" . >/dev/null
echo "image: $IMAGE"
