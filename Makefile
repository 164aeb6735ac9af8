# socmond — see README.md. `make demo` shows it working; `make test` proves it.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/socmond/socmond/internal/version.Version=$(VERSION) -X github.com/socmond/socmond/internal/version.Revision=$(REVISION)
BIN       := bin/socmond

.PHONY: all build demo test test-deps lint vet fmt-check bench fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/socmond

## demo: run the daemon against the in-process AWS simulator with a fault timeline.
demo: build
	./$(BIN) demo --config.file config.example.yaml

## test: install test dependencies, lint, then run every test with the race detector.
test: test-deps lint
	$(GO) test -race -count=1 -timeout 20m ./...

test-deps:
	./scripts/test-deps.sh

lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## bench: Go benchmarks of the hot path.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: run each fuzz target for longer than the few seconds `make test` gives it.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./internal/config/

clean:
	rm -rf bin .tools
