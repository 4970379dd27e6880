# csvae-gpu: the targets a newcomer and CI need. See README.md.
GO ?= go
BIN := bin/csvae-gpu

.PHONY: build test test-short bench toy bench-reference clean

build:
	$(GO) build -o $(BIN) ./cmd/csvae-gpu

# The test command of the README and of CI: vet, then every test.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# The quick subset for the edit-compile-test loop.
test-short:
	$(GO) test -short ./...

# Every kernel's Go benchmark, then the CLI's table (CPU only in this build).
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 20x ./kernels/
	$(BIN) bench

# The toy table of the README: vae, csvae-noadv and csvae on the swiss roll.
toy: build
	bash scripts/toy.sh

clean:
	rm -rf bin

# Our CPU training speed on the CelebA-64 network against the PyTorch
# reference at 1 thread (needs python3-torch).
bench-reference:
	bash scripts/bench-reference.sh 1
