package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// allGemmKernels is every kernel this machine can run, and last a plain-Go
// one that tests the blocked driver (and its Go packing loops) on any
// machine.
func allGemmKernels() []*gemmKernel { return append(gemmKernels(), sgemmKernelGo) }

// sgemmKernelGo is a 4×8 micro-kernel in plain Go. Sgemm does not use it
// (without an assembly kernel, sgemmPortable is faster), but the tests run
// the blocked driver with it, packing in Go, as they do with the assembly
// kernels.
var sgemmKernelGo = &gemmKernel{name: "go4x8", mr: 4, nr: 8, kc: 256, strip: 256, fn: sgemmMicroGo}

func sgemmMicroGo(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	var acc [4][8]float32
	a, b = a[:4*kc], b[:8*kc]
	for p := range kc {
		av := (*[4]float32)(a[4*p:])
		bv := (*[8]float32)(b[8*p:])
		for i, x := range av {
			for j, y := range bv {
				acc[i][j] += x * y
			}
		}
	}
	for i := range acc {
		row := (*[8]float32)(c[i*ldc:])
		for j, s := range acc[i] {
			if beta == 0 {
				row[j] = alpha * s
			} else {
				row[j] = alpha*s + beta*row[j]
			}
		}
	}
}

// gemmCase is one product with operands laid out as stored: op(A) m×k,
// op(B) k×n, every stride pad wider than needed.
type gemmCase struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	a, b, c     []float32
	lda, ldb    int
	ldc         int
}

func newGemmCase(r *rand.Rand, tA, tB bool, m, n, k, pad int, alpha, beta float32) *gemmCase {
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	g := &gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		lda: ac + pad, ldb: bc + pad, ldc: n + pad}
	g.a = randSlice(r, (ar-1)*g.lda+ac, 1) // exactly as long as needed
	g.b = randSlice(r, (br-1)*g.ldb+bc, 1)
	g.c = randSlice(r, m*g.ldc, 1)
	if beta == 0 {
		for i := range g.c {
			g.c[i] = float32(math.NaN())
		}
	}
	return g
}

// run computes the product with the blocked driver and kr, or with
// sgemmPortable when kr is nil, on a copy of C.
func (g *gemmCase) run(kr *gemmKernel) []float32 {
	c := slices.Clone(g.c)
	if kr == nil {
		sgemmPortable(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	} else {
		sgemm(kr, g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	}
	return c
}

func (g *gemmCase) String() string {
	return fmt.Sprintf("m,n,k=%d,%d,%d tA=%v tB=%v lda,ldb,ldc=%d,%d,%d alpha,beta=%v,%v",
		g.m, g.n, g.k, g.tA, g.tB, g.lda, g.ldb, g.ldc, g.alpha, g.beta)
}

// check compares c with the float64 product, element by element within
// float32 accumulation error over k terms of size ~1, and checks that the
// padding columns of C were left alone.
func (g *gemmCase) check(t *testing.T, name string, c []float32) {
	t.Helper()
	want := naiveGemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
	tol := 1e-5 * math.Sqrt(float64(g.k)) * float64(max(1, abs32(g.alpha)))
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			got := float64(c[i*g.ldc+j])
			if !closeTo(got, want[i*g.n+j], tol) {
				t.Fatalf("%s %v: C[%d,%d]=%g want %g", name, g, i, j, got, want[i*g.n+j])
			}
		}
		for j := g.n; j < g.ldc; j++ {
			if x, y := c[i*g.ldc+j], g.c[i*g.ldc+j]; math.Float32bits(x) != math.Float32bits(y) {
				t.Fatalf("%s %v: wrote C[%d,%d] past n", name, g, i, j)
			}
		}
	}
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

// Every kernel (through the blocked driver), on ragged shapes (m, n, k not
// multiples of any tile or k block, several k blocks, several strips of
// either kind), every transpose and strides wider than the rows, agrees
// with the float64 product and with the plain-Go path, sgemmPortable.
func TestSgemmKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	dims := []int{1, 7, 17, 33, 130}
	ks := []int{1, 7, 17, 33, 130, 513}
	if testing.Short() {
		dims, ks = []int{1, 17, 130}, []int{7, 513}
	}
	kernels := allGemmKernels()
	for _, kr := range kernels {
		t.Logf("kernel %s: %d×%d tile, kc %d, strip %d", kr.name, kr.mr, kr.nr, kr.kc, kr.strip)
	}
	ab := [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}}
	idx := 0
	for _, m := range dims {
		for _, n := range dims {
			for _, k := range ks {
				for _, tA := range []bool{false, true} {
					for _, tB := range []bool{false, true} {
						s := ab[idx%len(ab)]
						pad := 1 + idx%5
						idx++
						g := newGemmCase(r, tA, tB, m, n, k, pad, s[0], s[1])
						ref := g.run(nil)
						g.check(t, "portable", ref)
						for _, kr := range kernels {
							c := g.run(kr)
							g.check(t, kr.name, c)
							// The same sums in another order, with fused
							// multiply-adds: equal within float32 accumulation
							// error over k terms of size ~1.
							for i := 0; i < m; i++ {
								for j := 0; j < n; j++ {
									x, y := float64(c[i*g.ldc+j]), float64(ref[i*g.ldc+j])
									if !closeTo(x, y, 2e-5*math.Sqrt(float64(k))*float64(abs32(g.alpha))) {
										t.Fatalf("%s and the portable path differ at C[%d,%d]: %g vs %g, %v", kr.name, i, j, x, y, g)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	// Long k with a small C: k is split into pieces (kSplits).
	for _, s := range [][3]int{{7, 33, 3000}, {33, 17, 5000}} {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				g := newGemmCase(r, tA, tB, s[0], s[1], s[2], 3, 0.5, 1)
				for _, kr := range kernels {
					if kSplits(kr, g.m, g.n, g.k) < 2 {
						t.Fatalf("%s: %v is not split", kr.name, g)
					}
					g.check(t, kr.name, g.run(kr))
				}
			}
		}
	}
}

// alpha == 0 and k == 0 scale C by beta without reading A or B (NaNs there
// do not leak), and beta == 0 then clears C even of NaNs.
func TestSgemmDegenerate(t *testing.T) {
	nan := float32(math.NaN())
	for _, kr := range append(allGemmKernels(), nil) {
		for _, k := range []int{0, 3} {
			a := []float32{nan, nan, nan, nan, nan, nan}
			b := []float32{nan, nan, nan, nan, nan, nan}
			alpha := float32(0)
			if k == 0 {
				alpha = 1
			}
			g := &gemmCase{m: 2, n: 2, k: k, alpha: alpha, beta: 0.5, a: a, lda: max(k, 1), b: b, ldb: 2,
				c: []float32{1, 2, 3, 4}, ldc: 2}
			if c := g.run(kr); !slices.Equal(c, []float32{0.5, 1, 1.5, 2}) {
				t.Errorf("%s k=%d alpha=%v beta=0.5: C=%v", kernelName(kr), k, alpha, c)
			}
			g.beta, g.c = 0, []float32{nan, nan, nan, nan}
			if c := g.run(kr); !slices.Equal(c, []float32{0, 0, 0, 0}) {
				t.Errorf("%s k=%d alpha=%v beta=0: C=%v", kernelName(kr), k, alpha, c)
			}
		}
	}
}

func kernelName(kr *gemmKernel) string {
	if kr == nil {
		return "portable"
	}
	return kr.name
}

// Each kernel gives bit-identical results on 1, 2, 3 and 8 threads, on
// shapes that split into many strips of either kind, and into pieces of k.
func TestSgemmThreadInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	shapes := [][3]int{{130, 1000, 300}, {1000, 130, 300}, {64, 4100, 64}, {33, 70, 2000}, {32, 48, 8200}}
	defer func() { Threads = 0 }()
	for _, kr := range allGemmKernels() {
		for i, s := range shapes {
			g := newGemmCase(r, i%2 == 1, i/2%2 == 1, s[0], s[1], s[2], 3, 1.5, 0.5)
			Threads = 1
			want := g.run(kr)
			for _, th := range []int{2, 3, 8} {
				Threads = th
				if got := g.run(kr); !slices.Equal(got, want) {
					t.Errorf("%s %v: %d threads differ from 1", kr.name, g, th)
				}
			}
		}
	}
}

// Packing buffers are 64-byte aligned, reused, and the cache stays bounded.
func TestPackCache(t *testing.T) {
	packCache.Lock()
	packCache.free = nil
	packCache.Unlock()
	var bufs []*[]float32
	for i := range packCacheMax + 4 {
		p := getPackBuf(1000 + i)
		if len(*p) != 1000+i || uintptr(unsafe.Pointer(&(*p)[0]))%64 != 0 {
			t.Fatalf("getPackBuf(%d): len %d, address %p", 1000+i, len(*p), &(*p)[0])
		}
		bufs = append(bufs, p)
	}
	for _, p := range bufs {
		putPackBuf(p)
	}
	packCache.Lock()
	n := len(packCache.free)
	packCache.Unlock()
	if n > packCacheMax {
		t.Errorf("%d buffers cached, want at most %d", n, packCacheMax)
	}
	if p := getPackBuf(1000 + packCacheMax + 3); !slices.Contains(bufs, p) {
		t.Error("the largest buffer was not kept for reuse")
	}
}
