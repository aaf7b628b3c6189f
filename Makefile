# shoal's build, test and benchmark entry points. `make test` is what CI runs.
GO        ?= go
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 30s

.PHONY: build install test bench bench-dist bench-latency bench-tracker bench-stream lint demo fuzz soak clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/shoal ./cmd/shoal

install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/shoal

test:
	$(GO) vet ./...
	$(GO) test -race -timeout 10m ./...

# Benchmarks print figures side by side with their baselines; run on an idle
# machine and compare ratios, not absolute times. swarmbench moves a 1 GiB
# file between separate processes, shoal's, anacrolix's (v1.59.1 and, from
# its own module in bench/anacrolix162, v1.62.0) and libtorrent's
# (bench/ltpeer.py over Debian's python3-libtorrent), in the same run; a
# peer that does not build or import is a "skipped" row, not a failure.
# DaemonScale restarts a daemon with 10 and with 10,000 seeding torrents
# (SHOAL_SCALE_N picks one size) and prints start-up, idle CPU, KiB/torrent.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./piece/...
	$(GO) test -run '^$$' -bench DaemonScale -benchtime 1x -timeout 30m ./daemon/
	$(GO) build -o bin/anacrolix-peer ./cmd/anacrolix-peer
	@rm -f bin/anacrolix162-peer
	-cd bench/anacrolix162 && $(GO) build -o ../../bin/anacrolix162-peer .
	$(GO) build -o bin/swarmbench ./cmd/swarmbench
	bin/swarmbench -size 1GiB -piece 1MiB -runs 3
	bin/swarmbench -latency -runs 3
	$(GO) build -o bin/distbench ./cmd/distbench
	bin/distbench -k 8 -size 32MiB -up 4MiB

# Swarm distribution: one seeder and K leechers, every process's upload
# capped at U, against the fluid-model floor T* = max(F/U, K*F/((K+1)*U));
# prints T, T*/T and the copies of the content the seeder sent, for shoal,
# libtorrent (bench/ltpeer.py) and anacrolix in the same run.
bench-dist: build
	$(GO) build -o bin/anacrolix-peer ./cmd/anacrolix-peer
	@rm -f bin/anacrolix162-peer
	-cd bench/anacrolix162 && $(GO) build -o ../../bin/anacrolix162-peer .
	$(GO) build -o bin/distbench ./cmd/distbench
	bin/distbench -k 8,16,32 -size 64MiB -piece 256KiB -up 4MiB

# 1 seeder -> 1 leecher through a proxy that delays each direction by half
# the round trip (50, 100, 200 ms), shoal beside the bench peers present.
bench-latency: build
	$(GO) build -o bin/anacrolix-peer ./cmd/anacrolix-peer
	@rm -f bin/anacrolix162-peer
	-cd bench/anacrolix162 && $(GO) build -o ../../bin/anacrolix162-peer .
	$(GO) build -o bin/swarmbench ./cmd/swarmbench
	bin/swarmbench -latency -runs 3

# shoal stream: time to the first byte and to a 1 MiB read at a random
# offset of a 1 GiB torrent from a seeder capped at 20 MiB/s, next to the
# whole download's time.
bench-stream: build
	$(GO) build -o bin/streambench ./cmd/streambench
	bin/streambench -shoal bin/shoal -size 1GiB -piece 1MiB -rate 20MiB

# The tracker under load, against opentracker (apt-get install opentracker)
# in the same run: servers on CPU 0, the load generator on CPU 1.
bench-tracker: build
	$(GO) build -o bin/trackerbench ./cmd/trackerbench
	taskset -c 1 bin/trackerbench -shoal bin/shoal -duration 5s -rounds 3 -open-loop

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Every fuzz target in the tree runs for FUZZTIME, found by name so a new
# one cannot be forgotten; the seed corpora already run in `make test`.
fuzz:
	@set -e; for f in $$(git ls-files '*_test.go'); do \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$name ./$$(dirname $$f)"; \
	    $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f)/; \
	  done; \
	done

# Issue 9's attacks at full scale (80 squatters, 8,000 half-open, 1,000,000
# PEX addresses), each held alone 30 s against a real shoal, with an honest
# transfer beside it; no -race (too many goroutines for it). `make test`
# runs the same attacks scaled down.
soak:
	SHOAL_SOAK=1 $(GO) test -count=1 -timeout 30m -run '^TestAttacks$$' -v ./cmd/shoal-attack/

demo:
	@echo "building shoal (the first build fetches and compiles its modules: a minute or two)..."
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/shoal ./cmd/shoal
	bin/shoal demo

clean:
	rm -rf bin
