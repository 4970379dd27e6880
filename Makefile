# csvae-gpu: the targets a newcomer and CI need. See README.md.
GO ?= go
BIN := bin/csvae-gpu

# CUDA kernels: each kernels/<family>.cu becomes cuda/ptx/<family>.fatbin
# (compute_80 PTX, which the driver JIT-compiles for any newer chip, plus
# sm_90 machine code for the H100/H200) and cuda/ptx/<family>.ptx (the kernel
# names and parameter lists package cuda reads, and for people to read). Both
# are embedded in the GPU binary. -lineinfo lets compute-sanitizer and
# Nsight Compute name source lines.
#
# The sm_90 code is built in steps, as nvcc would, with one edit: ptxas 11.8
# crashes (segfault) on some kernels for sm_90 when the PTX carries
# -lineinfo's inlined-call locations (", function_name ..., inlined_at ..."
# in .loc), so they are removed first; plain line numbers stay.
CU_SRC := $(wildcard kernels/*.cu)
CU_HDR := $(wildcard kernels/*.cuh)
PTX_DIR := cuda/ptx
SM90_DIR := $(PTX_DIR)/sm_90
FAMILIES := $(CU_SRC:kernels/%.cu=%)
FATBINS := $(FAMILIES:%=$(PTX_DIR)/%.fatbin)
PTXS := $(FAMILIES:%=$(PTX_DIR)/%.ptx)
CUBINS := $(FAMILIES:%=$(SM90_DIR)/%.cubin)
NVCC ?= nvcc
PTXAS ?= ptxas
FATBINARY ?= fatbinary
NVCC_FLAGS := -O3 -lineinfo

# kernels/emu/*.cc include kernels/*.cu from outside their package, and go's
# build cache does not look there: a hash of the CUDA sources in the cgo
# flags makes an edited kernel rebuild the emulator (plain `go test` after
# editing a .cu needs -a for the same reason).
EMU_HASH := $(shell cat kernels/*.cu kernels/*.cuh kernels/emu/*.h 2>/dev/null | cksum | cut -d' ' -f1)
export CGO_CXXFLAGS := -O2 -g -DCSVAE_EMU_SOURCES=$(EMU_HASH)

.PHONY: build test test-short gpu kernels bench toy bench-reference clean

build:
	$(GO) build -o $(BIN) ./cmd/csvae-gpu

# The test command of the README and of CI. Installs nvcc and g++ when
# missing, compiles the kernels, vets, runs every test (each CUDA kernel runs
# under emulation, and the generated PTX is checked against the kernels'
# conventions), then builds the GPU binary, so every run compiles all the
# CUDA code and the cgo layer over gorgonia.org/cu. That GPU binary goes to
# bin/gpu/, so that bin/csvae-gpu stays a binary that runs here.
test:
	bash scripts/install-cuda.sh
	$(MAKE) kernels
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(MAKE) gpu BIN=bin/gpu/csvae-gpu

# The quick subset for the edit-compile-test loop.
test-short:
	$(GO) test -short ./...

# The GPU build: bin/csvae-gpu with --device gpu, and bin/cuda.test (the
# device's own tests, `bin/cuda.test -test.v` on a GPU host). Building needs
# nvcc, cuda.h and libcuda.so (bash scripts/install-cuda.sh); running needs
# an NVIDIA driver: without a GPU gorgonia.org/cu exits at start.
gpu: kernels
	$(GO) build -tags gpu -o $(BIN) ./cmd/csvae-gpu
	$(GO) test -tags gpu -c -o bin/cuda.test ./cuda/
	$(GO) vet -tags gpu ./...

# Also removes the output of families whose .cu is gone, which would
# otherwise stay embedded.
kernels: $(FATBINS) $(PTXS) $(CUBINS)
	@for f in $(PTX_DIR)/*.fatbin $(PTX_DIR)/*.ptx $(SM90_DIR)/*; do \
		[ -f "$$f" ] || continue; b=$$(basename "$$f"); b=$${b%%.*}; \
		[ -f "kernels/$$b.cu" ] || { echo "rm $$f"; rm -f "$$f"; }; \
	done

$(PTX_DIR)/%.ptx: kernels/%.cu $(CU_HDR) | $(PTX_DIR)
	$(NVCC) $(NVCC_FLAGS) -arch=compute_80 -ptx -o $@ $<

$(SM90_DIR)/%.cubin: kernels/%.cu $(CU_HDR) | $(SM90_DIR)
	$(NVCC) $(NVCC_FLAGS) -arch=compute_90 -ptx -o $(SM90_DIR)/$*.ptx $<
	sed -i -E 's/, function_name [^,]*, inlined_at [0-9 ]+//' $(SM90_DIR)/$*.ptx
	$(PTXAS) -arch=sm_90 -m64 --generate-line-info -o $@ $(SM90_DIR)/$*.ptx

$(PTX_DIR)/%.fatbin: $(PTX_DIR)/%.ptx $(SM90_DIR)/%.cubin
	$(FATBINARY) --create=$@ -64 --image3=kind=ptx,sm=80,file=$(PTX_DIR)/$*.ptx --image3=kind=elf,sm=90,file=$(SM90_DIR)/$*.cubin

$(PTX_DIR) $(SM90_DIR):
	mkdir -p $@

# Every kernel's Go benchmark, then the CLI's table (CPU only in this build).
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 20x ./kernels/
	$(BIN) bench

# The toy table of the README: vae, csvae-noadv and csvae on the swiss roll.
toy: build
	bash scripts/toy.sh

clean:
	rm -rf bin $(PTX_DIR)

# Our CPU training speed on the CelebA-64 network against the PyTorch
# reference at 1 thread (needs python3-torch).
bench-reference:
	bash scripts/bench-reference.sh 1
