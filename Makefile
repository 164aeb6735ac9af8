# socmond — see README.md. `make demo` shows it working; `make test` proves it.
GO        ?= go
# RELEASE is the version the shipped manifests deploy: deploy/kubernetes and
# deploy/ecs tag socmond's image with it, never :latest, which moves under a
# running deployment and names nothing to roll back to (deploy/imagetag_test.go
# keeps them equal). Built from the git tag $(RELEASE), VERSION is the same,
# and `make image` builds socmond:$(RELEASE).
RELEASE   := v0.1.0
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/socmond/socmond/internal/version.Version=$(VERSION) -X github.com/socmond/socmond/internal/version.Revision=$(REVISION)
BIN       := bin/socmond

.PHONY: all build demo test test-deps lint vet fmt-check mod-check bench bench-go fuzz fuzz-short soak clean image manifests

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/socmond

## image: the container image, built offline with buildah (scripts/image.sh).
image:
	VERSION=$(VERSION) REVISION=$(REVISION) ./scripts/image.sh

## manifests: regenerate deploy/ files derived from config.example.yaml,
## deploy/prometheus, deploy/grafana and `socmond iam-policy`: the kustomize
## layout's and the Helm chart's copies among them.
manifests:
	$(GO) test ./deploy -run TestGeneratedFilesUpToDate -count=1 -update

# The demo's config: config.tenants.example.yaml shows two tenants in two regions.
DEMO_CONFIG ?= config.example.yaml

## demo: run the daemon against the in-process AWS simulator with a fault timeline.
demo: build
	./$(BIN) demo --config.file $(DEMO_CONFIG)

## test: install test dependencies, lint, fuzz each target briefly, then run every test with the race detector.
test: test-deps lint fuzz-short
	$(GO) test -race -count=1 -timeout 20m ./...

test-deps:
	./scripts/test-deps.sh

lint: fmt-check vet mod-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## mod-check: go.mod and go.sum must be what `go mod tidy` makes them, so a
## direct dependency is never marked // indirect and nothing unused lingers.
mod-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

## bench: socmond side by side with blackbox_exporter, the scale runs, the
## 10,000-resource run across 50 accounts × 2 regions beside the one-account
## one, and the response-time fidelity run (about 9 min; see
## docs/performance.md), then the Go benchmarks of the hot path.
bench: build
	@command -v prometheus-blackbox-exporter >/dev/null 2>&1 || ./scripts/test-deps.sh
	$(GO) run ./test/bench -socmond $(BIN) $(BENCHFLAGS)
	$(MAKE) bench-go

## bench-go: Go benchmarks of the hot path.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## soak: the chaos soak for 10 minutes (the 60-second version runs in `make test`);
## SOAKTIME and SOAKSEED change its length and fault schedule. See docs/reliability.md.
SOAKTIME ?= 10m
SOAKSEED ?= 1
soak:
	$(GO) test -count=1 -timeout 30m -run TestChaosSoak -v ./test/soak -args -soak.duration $(SOAKTIME) -soak.seed $(SOAKSEED)

## fuzz: run each fuzz target for longer than the few seconds `make test` gives it.
FUZZTIME ?= 60s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

fuzz-short:
	./scripts/fuzz.sh 3s

clean:
	rm -rf bin .tools
