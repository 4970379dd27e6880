package metrics

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// kdTreeMaxDim is the largest dimension for which the k-d tree is used; above
// it the tiled brute-force scan is faster.
const kdTreeMaxDim = 8

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// nearestSq returns, for every row i of query (flat, row-major, d columns),
// the squared Euclidean distance to its nearest row of ref. With self set,
// query and ref are the same sample and row i of ref is excluded for query i
// (only by index: an exact duplicate at another index gives 0).
//
// Both search methods evaluate candidates with the same sqDistBound and keep
// the minimum, so they return bit-identical values, independent of workers.
func nearestSq(query, ref []float64, d int, self bool, workers int) []float64 {
	if d <= kdTreeMaxDim {
		return nearestSqKD(query, ref, d, self, workers)
	}
	return nearestSqBrute(query, ref, d, self, workers)
}

// parallelBlocks runs fn(lo, hi) over [0, n) in blocks of size block, with
// up to workers goroutines pulling blocks from a shared counter. Each index
// belongs to exactly one block, so per-index outputs do not depend on the
// scheduling.
func parallelBlocks(n, block, workers int, fn func(lo, hi int)) {
	nb := (n + block - 1) / block
	if workers > nb {
		workers = nb
	}
	if workers <= 1 {
		for lo := 0; lo < n; lo += block {
			fn(lo, min(lo+block, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				b := int(next.Add(1)) - 1
				if b >= nb {
					return
				}
				lo := b * block
				fn(lo, min(lo+block, n))
			}
		})
	}
	wg.Wait()
}

// sqDistBound returns the squared Euclidean distance between a and b
// (len(b) ≥ len(a)) if it is ≤ bound; otherwise it returns some value > bound
// (it may stop early once a partial sum already exceeds bound). The summation
// order is fixed: four interleaved accumulators, a scalar tail added to the
// first, then (s0+s1)+(s2+s3). Floating-point addition of non-negative terms
// is monotone, so a partial sum computed this way never exceeds the full sum
// and the early exit is exact.
func sqDistBound(a, b []float64, bound float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(a); j += 4 {
		d0 := a[j] - b[j]
		d1 := a[j+1] - b[j+1]
		d2 := a[j+2] - b[j+2]
		d3 := a[j+3] - b[j+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		if j&12 == 12 { // every 16 coordinates
			if s := (s0 + s1) + (s2 + s3); s > bound {
				return s
			}
		}
	}
	for ; j < len(a); j++ {
		dj := a[j] - b[j]
		s0 += dj * dj
	}
	return (s0 + s1) + (s2 + s3)
}

// ---- brute force ---------------------------------------------------------

const bruteQueryBlock = 32

func nearestSqBrute(query, ref []float64, d int, self bool, workers int) []float64 {
	nq, nr := len(query)/d, len(ref)/d
	out := make([]float64, nq)
	// Tile the reference rows so that a tile (~64 KiB) stays in L2 while a
	// block of queries is scanned against it.
	refTile := max(16, 8192/d)
	parallelBlocks(nq, bruteQueryBlock, workers, func(lo, hi int) {
		best := out[lo:hi]
		for i := range best {
			best[i] = math.Inf(1)
		}
		for r0 := 0; r0 < nr; r0 += refTile {
			r1 := min(r0+refTile, nr)
			for i := lo; i < hi; i++ {
				qi := query[i*d : (i+1)*d]
				bi := best[i-lo]
				for r := r0; r < r1; r++ {
					if self && r == i {
						continue
					}
					if s := sqDistBound(qi, ref[r*d:(r+1)*d], bi); s < bi {
						bi = s
					}
				}
				best[i-lo] = bi
			}
		}
	})
	return out
}

// ---- k-d tree ------------------------------------------------------------

const kdLeafSize = 8

type kdNode struct {
	lo, hi      int32 // range of points (in tree order) below this node
	left, right int32 // child nodes; left < 0 for a leaf
	dim         int32
	split       float64
}

// kdTree is a static k-d tree over a copy of the reference points, reordered
// so that every node covers a contiguous range. Left children hold points
// with coordinate ≤ split along dim, right children points with ≥ split.
type kdTree struct {
	d     int
	pts   []float64 // reordered copy, row-major
	idx   []int32   // original row index of each reordered point
	nodes []kdNode
}

func newKDTree(ref []float64, d int) *kdTree {
	n := len(ref) / d
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	t := &kdTree{d: d}
	t.build(ref, perm, 0, n)
	t.pts = make([]float64, 0, len(ref))
	for _, i := range perm {
		t.pts = append(t.pts, ref[int(i)*d:(int(i)+1)*d]...)
	}
	t.idx = perm
	return t
}

// build creates the node for perm[lo:hi] and returns its index.
func (t *kdTree) build(ref []float64, perm []int32, lo, hi int) int32 {
	d := t.d
	id := int32(len(t.nodes))
	t.nodes = append(t.nodes, kdNode{lo: int32(lo), hi: int32(hi), left: -1, right: -1})
	if hi-lo <= kdLeafSize {
		return id
	}
	// Split along the dimension of largest spread.
	bestDim, bestSpread := 0, -1.0
	for k := range d {
		mn, mx := math.Inf(1), math.Inf(-1)
		for _, i := range perm[lo:hi] {
			v := ref[int(i)*d+k]
			mn = min(mn, v)
			mx = max(mx, v)
		}
		if mx-mn > bestSpread {
			bestDim, bestSpread = k, mx-mn
		}
	}
	if bestSpread <= 0 { // all points identical: keep one (large) leaf
		return id
	}
	slices.SortFunc(perm[lo:hi], func(a, b int32) int {
		va, vb := ref[int(a)*d+bestDim], ref[int(b)*d+bestDim]
		switch {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return int(a - b)
	})
	mid := (lo + hi) / 2
	split := ref[int(perm[mid])*d+bestDim]
	left := t.build(ref, perm, lo, mid)
	right := t.build(ref, perm, mid, hi)
	t.nodes[id].left, t.nodes[id].right = left, right
	t.nodes[id].dim, t.nodes[id].split = int32(bestDim), split
	return id
}

// nearest returns the smallest sqDistBound from q to a tree point whose
// original index differs from exclude (exclude < 0 excludes nothing).
func (t *kdTree) nearest(q []float64, exclude int32) float64 {
	best := math.Inf(1)
	t.search(0, q, exclude, &best)
	return best
}

func (t *kdTree) search(id int32, q []float64, exclude int32, best *float64) {
	nd := &t.nodes[id]
	if nd.left < 0 {
		d := t.d
		bst := *best
		for k := nd.lo; k < nd.hi; k++ {
			if t.idx[k] == exclude {
				continue
			}
			if s := sqDistBound(q, t.pts[int(k)*d:(int(k)+1)*d], bst); s < bst {
				bst = s
				if bst == 0 {
					break
				}
			}
		}
		*best = bst
		return
	}
	diff := q[nd.dim] - nd.split
	near, far := nd.left, nd.right
	if diff >= 0 {
		near, far = nd.right, nd.left
	}
	t.search(near, q, exclude, best)
	// Every point on the far side differs from q along dim by at least
	// |diff| (rounding is monotone), and its squared distance is at least
	// diff², so it cannot be strictly closer when diff² ≥ best.
	if diff*diff < *best {
		t.search(far, q, exclude, best)
	}
}

func nearestSqKD(query, ref []float64, d int, self bool, workers int) []float64 {
	nq := len(query) / d
	t := newKDTree(ref, d)
	out := make([]float64, nq)
	parallelBlocks(nq, 256, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ex := int32(-1)
			if self {
				ex = int32(i)
			}
			out[i] = t.nearest(query[i*d:(i+1)*d], ex)
		}
	})
	return out
}
