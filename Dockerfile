# socmond container image: a static binary on a minimal, non-root base.
#
#   docker build -t socmond .            # users: pulls golang and distroless
#   make image                           # here: buildah, offline, local bases
#
# Both bases are build arguments because this project's CI cannot pull images:
# `make image` (scripts/image.sh) builds equivalent local bases from scratch —
# the host's Go toolchain for the builder, CA certificates and a nonroot user
# for the final stage — and passes them in. The builder stage uses exec-form
# RUN only, so it needs no shell.
ARG BUILDER_IMAGE=docker.io/library/golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${BUILDER_IMAGE} AS build
ARG VERSION=dev
ARG REVISION=unknown
ARG GOPROXY=https://proxy.golang.org,direct
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local \
    GOPROXY=${GOPROXY} \
    GOFLAGS="-trimpath -buildvcs=false '-ldflags=-s -w -X github.com/socmond/socmond/internal/version.Version=${VERSION} -X github.com/socmond/socmond/internal/version.Revision=${REVISION}'"
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN ["go", "mod", "download"]
COPY cmd ./cmd
COPY internal ./internal
RUN ["go", "build", "-o", "/out/socmond", "./cmd/socmond"]

FROM ${BASE_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="socmond" \
      org.opencontainers.image.description="Monitors the AWS services of the SOC alert pipeline" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/socmond/socmond" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/socmond /usr/local/bin/socmond
# Apache-2.0 asks that a copy of the license travel with the binary.
COPY LICENSE /usr/share/doc/socmond/LICENSE
COPY config.example.yaml /etc/socmond/config.example.yaml
# 65532 is distroless's "nonroot"; numeric so Kubernetes runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9815
ENTRYPOINT ["/usr/local/bin/socmond"]
CMD ["run"]
