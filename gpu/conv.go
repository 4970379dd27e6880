package gpu

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Convolutions (kernels/conv.cu): each of the three products is one
// implicit-GEMM launch (the im2col matrix exists only tile by tile in shared
// memory), or, when its tiles alone cannot fill the GPU, a split-K launch
// into scratch plus conv_splitk_reduce, which sums the partials in a fixed
// order. The tile shape and the split count are chosen per shape (ConvPlan)
// and depend on nothing else, so results are reproducible. A transposed
// convolution runs on the same kernels with the roles swapped
// (model/layers_conv.go), so the plans cover both directions.

// ConvOp names one of the three convolution products.
type ConvOp int

const (
	ConvFwd       ConvOp = iota // y = conv(x, w) (+ b): kernels.ConvForward
	ConvBwdData                 // dx = convᵀ(dy, w): kernels.ConvBackwardData
	ConvBwdFilter               // dw += dy ⋆ x: kernels.ConvBackwardFilter
)

var convOpKernel = [...]string{"conv_fwd_", "conv_bwd_data_", "conv_bwd_filter_"}

func (op ConvOp) String() string {
	return [...]string{"forward", "backward-data", "backward-filter"}[op]
}

// convTile is one tile shape of conv.cu (the CONV_GEMM_KERNEL lines).
// want is the grid size split-K aims for: about 3 blocks per SM for the
// 128-thread tiles, 2 for the 256-thread one (each holds 2 per SM), the
// best measured on an H200 over the CelebA-64 and -32 layers at batch 64
// and 128, sweeping every tile and split counts 1..256.
type convTile struct {
	name       string
	bm, bn, bk int
	threads    int
	want       int
}

var convTiles = []convTile{
	{"128x128", 128, 128, 16, 256, 2 * convSMs},
	{"64x64", 64, 64, 16, 128, 3 * convSMs},
	{"32x128", 32, 128, 16, 128, 3 * convSMs},
	{"32x64", 32, 64, 16, 128, 3 * convSMs},
	{"4x512", 4, 512, 8, 128, 3 * convSMs},
}

func convTileNamed(name string) convTile {
	for _, t := range convTiles {
		if t.name == name {
			return t
		}
	}
	panic("gpu: no conv tile " + name)
}

const (
	convSMs = 132 // H100 SXM and H200
	// convMinSplitTiles is the shortest slice of the reduction worth a block
	// of its own, in BK steps: shorter slices cost more in partial traffic
	// and block start-up than they gain in parallelism.
	convMinSplitTiles = 16
	convMaxSplits     = 256
	// convBigTile is the work (FMAs) from which 128x128 tiles beat 64x64
	// when M >= 128; backward-data stays on 64x64, whose split-K partials
	// (the size of dx) would be the larger cost.
	convBigTile = 1 << 30
	// convScratchLen bounds the split-K partial products, in floats (32 MiB).
	convScratchLen = 1 << 23
)

// convGemm is the GEMM an op performs at a shape: M x Ncols outputs (per
// phase), a reduction of Kr, phases independent GEMMs (backward-data with
// stride st has st² of them), out values written.
type convGemm struct {
	m, ncols, kr, phases, out int
}

// convTaps and convPhaseRows mirror conv_taps and conv_phase_rows in
// conv.cu: the taps r ≡ ph (mod st) and the output rows of phase ph.
func convTaps(r, ph, st int) int {
	if ph >= r {
		return 0
	}
	return (r - ph + st - 1) / st
}

func convPhaseRows(h, pad, ph, st int) int {
	lo := 0
	if pad >= ph {
		lo = (pad - ph + st - 1) / st
	}
	hi := 0
	if last := h - 1 + pad - ph; last >= 0 {
		hi = last/st + 1
	}
	return max(0, hi-lo)
}

func convGemmOf(op ConvOp, g model.ConvGeom) convGemm {
	p := g.OH() * g.OW()
	crs := g.C * g.R * g.S
	switch op {
	case ConvFwd:
		return convGemm{g.K, g.N * p, crs, 1, g.N * g.K * p}
	case ConvBwdFilter:
		return convGemm{g.K, crs, g.N * p, 1, g.K * crs}
	}
	// Backward-data: st² phase GEMMs; the grid covers the largest phase in
	// each direction (smaller phases leave their surplus blocks), and phase
	// 0 has the most taps.
	st := g.Stride
	rows, cols := 0, 0
	for ph := 0; ph < st; ph++ {
		rows = max(rows, convPhaseRows(g.H, g.Pad, ph, st))
		cols = max(cols, convPhaseRows(g.W, g.Pad, ph, st))
	}
	return convGemm{g.C, g.N * rows * cols, g.K * convTaps(g.R, 0, st) * convTaps(g.S, 0, st), st * st,
		g.N * g.C * g.H * g.W}
}

// ConvLaunch is how an op runs at a shape: the kernel, its grid (gridDim.z
// is phases x splits) and block, and the split count (> 1: a second launch
// of conv_splitk_reduce). Benchmarks report it; checks list its kernels.
type ConvLaunch struct {
	Kernel      string
	Grid, Block Dim3
	Splits      int
}

// Kernels lists the kernels the launch queues.
func (l ConvLaunch) Kernels() []string {
	if l.Splits > 1 {
		return []string{l.Kernel, "conv_splitk_reduce"}
	}
	return []string{l.Kernel}
}

// ConvPlan picks the tile shape and split count for op at g, by rules
// fitted to measurements on an H200 (see convTile.want): the tile follows
// M (the output channels of the GEMM), then the reduction is split until
// the grid has about want blocks, keeping every slice at least
// convMinSplitTiles steps long.
func ConvPlan(op ConvOp, g model.ConvGeom) ConvLaunch {
	cg := convGemmOf(op, g)
	var t convTile
	switch {
	case convForced != nil:
		t = convTileNamed(convForced.tile)
	case cg.m <= 4:
		t = convTileNamed("4x512")
	case cg.m <= 32 && blocks(cg.ncols, 128)*cg.phases >= 3*convSMs:
		t = convTileNamed("32x128")
	case cg.m <= 32:
		t = convTileNamed("32x64")
	case cg.m >= 128 && op != ConvBwdData && cg.m*cg.ncols*cg.kr >= convBigTile:
		t = convTileNamed("128x128")
	default:
		t = convTileNamed("64x64")
	}
	tilesN := max(blocks(cg.ncols, t.bn), 1)
	tiles := tilesN * blocks(cg.m, t.bm) * cg.phases
	ksteps := blocks(cg.kr, t.bk)
	s := max(1, min(t.want/max(tiles, 1), ksteps/convMinSplitTiles, convMaxSplits,
		convScratchLen/max(cg.out, 1)))
	// The kernel's slices are ceil(Kr/s) rounded up to BK: take the fewest
	// splits that give the same slices, so that none is empty.
	if s > 1 {
		s = blocks(ksteps, blocks(ksteps, s))
	}
	if convForced != nil {
		s = convForced.splits
	}
	return ConvLaunch{
		Kernel: convOpKernel[op] + t.name,
		Grid:   Dim3{tilesN, blocks(cg.m, t.bm), cg.phases * s},
		Block:  Dim3{t.threads, 1, 1},
		Splits: s,
	}
}

// convWorkspace holds the split-K partial products.
func (b *Backend) convWorkspace() uint64 { return b.workspace("conv", convScratchLen) }

// conv launches op at g: out gets the product (+ bias[m]) (+ out when beta).
func (b *Backend) conv(op ConvOp, g model.ConvGeom, out, a, bsrc, bias model.Tensor, beta bool) {
	l := ConvPlan(op, g)
	cg := convGemmOf(op, g)
	if cg.out == 0 {
		return
	}
	geom := []uint64{I64(g.N), I64(g.C), I64(g.H), I64(g.W), I64(g.K), I64(g.R), I64(g.S), I64(g.Stride), I64(g.Pad)}
	betaArg := uint64(0)
	if beta {
		betaArg = 1
	}
	if l.Splits == 1 {
		args := append([]uint64{ptr(out), ptr(a), ptr(bsrc), ptr(bias)}, geom...)
		b.dev.Launch(l.Kernel, l.Grid, l.Block, append(args, 1, I64(cg.out), betaArg)...)
		return
	}
	ws := b.convWorkspace()
	args := append([]uint64{ws, ptr(a), ptr(bsrc), 0}, geom...)
	b.dev.Launch(l.Kernel, l.Grid, l.Block, append(args, I64(l.Splits), I64(cg.out), 0)...)
	// The bias of the forward product is per output channel: y[N, K, P].
	p, k := 1, 1
	if bias != nil {
		p, k = g.OH()*g.OW(), g.K
	}
	rgrid, rblock := grid1(cg.out)
	rgrid.X = min(rgrid.X, 8*convSMs)
	b.dev.Launch("conv_splitk_reduce", rgrid, rblock, ptr(out), ws, ptr(bias), I64(cg.out), I64(l.Splits),
		I64(p), I64(k), betaArg)
}

// convCheck validates g and the tensors' sizes: x, w, y in that order for
// the op's x, w and y roles (nil skipped), b with K values.
func convCheck(op string, g model.ConvGeom, x, w, y, bias model.Tensor) {
	if g.N < 0 || g.C <= 0 || g.K <= 0 || g.R <= 0 || g.S <= 0 || g.Stride <= 0 || g.Pad < 0 ||
		g.H+2*g.Pad < g.R || g.W+2*g.Pad < g.S {
		panic(fmt.Sprintf("gpu: %s: bad geometry %+v", op, g))
	}
	nx, nw, ny := g.N*g.C*g.H*g.W, g.K*g.C*g.R*g.S, g.N*g.K*g.OH()*g.OW()
	// The kernels index in 32-bit ints (every CelebA tensor is far below).
	if nx >= 1<<31 || ny >= 1<<31 || nw >= 1<<31 {
		panic(fmt.Sprintf("gpu: %s: tensors over 2^31 values %+v", op, g))
	}
	for _, c := range []struct {
		t model.Tensor
		n int
	}{{x, nx}, {w, nw}, {y, ny}, {bias, g.K}} {
		if c.t != nil {
			mustLen(op, c.t, c.n)
		}
	}
}

// Go fallback: kernels.ConvForward. y = conv(x, w) + b; b may be nil.
func (b *Backend) ConvForward(y, x, w, bias model.Tensor, g model.ConvGeom) {
	convCheck("ConvForward", g, x, w, y, bias)
	b.conv(ConvFwd, g, y, w, x, bias, false)
}

// Go fallback: kernels.ConvBackwardData. dx (=|+=) convᵀ(dy, w).
func (b *Backend) ConvBackwardData(dx, dy, w model.Tensor, g model.ConvGeom, accumulate bool) {
	convCheck("ConvBackwardData", g, dx, w, dy, nil)
	b.conv(ConvBwdData, g, dx, w, dy, nil, accumulate)
}

// Go fallback: kernels.ConvBackwardFilter. dw += dy ⋆ x and, when db is not
// nil, db += the channel sums of dy.
func (b *Backend) ConvBackwardFilter(dw, db, dy, x model.Tensor, g model.ConvGeom) {
	convCheck("ConvBackwardFilter", g, x, dw, dy, db)
	if g.N == 0 {
		return
	}
	b.conv(ConvBwdFilter, g, dw, dy, x, nil, true)
	if db != nil {
		b.ChannelBiasBackward(db, dy, g.N, g.K, g.OH()*g.OW())
	}
}

// Go fallback: kernels.AddChannelBias. y[N,C,P] += b[c].
func (b *Backend) AddChannelBias(y, bias model.Tensor, n, c, p int) {
	if n*c*p == 0 {
		return
	}
	mustLen("AddChannelBias", y, n*c*p)
	mustLen("AddChannelBias", bias, c)
	grid, block := grid1(n * c * p)
	grid.X = min(grid.X, 8*convSMs)
	b.dev.Launch("conv_add_channel_bias", grid, block, ptr(y), ptr(bias), I64(n*c*p), I64(c), I64(p))
}

// Go fallback: kernels.ChannelBiasBackward. db[c] += Σ dy[:, c, :].
func (b *Backend) ChannelBiasBackward(db, dy model.Tensor, n, c, p int) {
	if c == 0 {
		return
	}
	mustLen("ChannelBiasBackward", dy, n*c*p)
	mustLen("ChannelBiasBackward", db, c)
	b.dev.Launch("conv_channel_bias_backward", Dim3{c, 1, 1}, Dim3{256, 1, 1}, ptr(db), ptr(dy), I64(n), I64(c), I64(p))
}
