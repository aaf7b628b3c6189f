# shoal's build, test and benchmark entry points. `make test` is what CI runs.
GO        ?= go
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 30s

.PHONY: build install test bench bench-tracker lint demo fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/shoal ./cmd/shoal

install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/shoal

test:
	$(GO) vet ./...
	$(GO) test -race -timeout 10m ./...

# Benchmarks print figures side by side with their baselines; run on an idle
# machine and compare ratios, not absolute times. swarmbench moves a 1 GiB
# file between separate processes, shoal's and anacrolix's, in the same run.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./piece/...
	$(GO) build -o bin/anacrolix-peer ./cmd/anacrolix-peer
	$(GO) build -o bin/swarmbench ./cmd/swarmbench
	bin/swarmbench -size 1GiB -piece 1MiB -runs 3

# The tracker under load, against opentracker (apt-get install opentracker)
# in the same run: servers on CPU 0, the load generator on CPU 1.
bench-tracker: build
	$(GO) build -o bin/trackerbench ./cmd/trackerbench
	taskset -c 1 bin/trackerbench -shoal bin/shoal -duration 10s

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target runs for FUZZTIME; the seed corpora already run in `make test`.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzBitfieldFromWire$$' -fuzztime $(FUZZTIME) ./piece/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckBencode$$' -fuzztime $(FUZZTIME) ./piece/meta/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./piece/meta/

demo:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/shoal demo

clean:
	rm -rf bin
