package metrics

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// gaussSample draws n rows from N(mu, diag(sd²)) with a fixed-seed PCG.
func gaussSample(r *rand.Rand, n int, mu, sd []float64) [][]float64 {
	x := make([][]float64, n)
	for i := range x {
		row := make([]float64, len(mu))
		for j := range row {
			row[j] = mu[j] + sd[j]*r.NormFloat64()
		}
		x[i] = row
	}
	return x
}

func constVec(d int, v float64) []float64 {
	s := make([]float64, d)
	for i := range s {
		s[i] = v
	}
	return s
}

func unitVec(d int) []float64 {
	s := make([]float64, d)
	s[0] = 1
	return s
}

// gaussKL is the closed form KL(N(mp, Σp) || N(mq, Σq)) for diagonal
// covariances Σ = diag(sd²):
//
//	0.5 [tr(Σq⁻¹Σp) + (μq−μp)ᵀΣq⁻¹(μq−μp) − d + ln(det Σq / det Σp)].
func gaussKL(mp, sdp, mq, sdq []float64) float64 {
	var tr, maha, logdet float64
	for j := range mp {
		vp, vq := sdp[j]*sdp[j], sdq[j]*sdq[j]
		tr += vp / vq
		dm := mq[j] - mp[j]
		maha += dm * dm / vq
		logdet += math.Log(vq) - math.Log(vp)
	}
	return 0.5 * (tr + maha - float64(len(mp)) + logdet)
}

// TestKLExact checks the formula itself on a tiny set whose nearest-neighbour
// distances are worked out by hand, so it pins the d factor, the log(m/(n−1))
// correction (not log(m/n)) and the handling of duplicates exactly.
func TestKLExact(t *testing.T) {
	// p0=(0,0): ρ=3 (to p1), ν=1 (to (0,1))
	// p1=(3,0): ρ=3 (to p0), ν=3 (to (6,0))
	// p2=(3,4): ρ=4 (to p1), ν=√18 (to (0,1))
	// Σ log(ν/ρ) = log(1/3) + 0 + log(√18/4) = log(√2/4) = −1.5 ln 2
	// D̂ = (2/3)(−1.5 ln 2) + log(3/(3−1)) = −ln 2 + ln 1.5 = ln 0.75.
	// (Without the d factor: 0.0589; with log(m/n): −0.693; without the
	// correction term: −0.693.)
	p := [][]float64{{0, 0}, {3, 0}, {3, 4}}
	q := [][]float64{{0, 1}, {6, 0}, {100, 100}}
	cases := []struct {
		name string
		p, q [][]float64
		want float64
	}{
		{"plain", p, q, math.Log(0.75)},
		// A copy of p1 gives ρ=0 for both copies: they are skipped; the
		// kept points are p0 and p2 (ρ, ν unchanged), n=4, m=3:
		// D̂ = (2/2)(log(1/3) + log(√18/4)) + log(3/3) = log(√2/4).
		{"rho=0 skipped", [][]float64{{0, 0}, {3, 0}, {3, 4}, {3, 0}}, q, math.Log(math.Sqrt2 / 4)},
		// (6,0) is also in q: ν=0, skipped. Other ρ, ν are unchanged
		// (p1 keeps ρ=3, p2 keeps ρ=4), n=4, m=3:
		// D̂ = (2/3)(−1.5 ln 2) + log(3/3) = −ln 2.
		{"nu=0 skipped", [][]float64{{0, 0}, {3, 0}, {3, 4}, {6, 0}}, q, -math.Ln2},
	}
	for _, c := range cases {
		got, err := KLDivergence1NN(c.p, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: got %.15g, want %.15g", c.name, got, c.want)
		}
	}
	// Exactly the same in dimension 12 (brute-force path): pad with zeros.
	pad := func(x [][]float64) [][]float64 {
		out := make([][]float64, len(x))
		for i, r := range x {
			out[i] = append(append([]float64{}, r...), make([]float64, 10)...)
		}
		return out
	}
	got, err := KLDivergence1NN(pad(p), pad(q))
	if err != nil {
		t.Fatal(err)
	}
	// Same distances, but d=12: D̂ = (12/3)(−1.5 ln 2) + ln 1.5.
	if want := -6*math.Ln2 + math.Log(1.5); math.Abs(got-want) > 1e-12 {
		t.Errorf("d=12: got %.15g, want %.15g", got, want)
	}
}

// naiveKL is a direct transcription of the estimator, O(n(n+m)d), used as an
// independent reference for the fast implementation.
func naiveKL(p, q [][]float64) float64 {
	dist := func(a, b []float64) float64 {
		var s float64
		for j := range a {
			s += (a[j] - b[j]) * (a[j] - b[j])
		}
		return math.Sqrt(s)
	}
	n, m, d := len(p), len(q), len(p[0])
	var sum float64
	used := 0
	for i := range p {
		rho, nu := math.Inf(1), math.Inf(1)
		for k := range p {
			if k != i {
				rho = min(rho, dist(p[i], p[k]))
			}
		}
		for k := range q {
			nu = min(nu, dist(p[i], q[k]))
		}
		if rho == 0 || nu == 0 { // documented duplicate rule
			continue
		}
		sum += math.Log(nu / rho)
		used++
	}
	return float64(d)/float64(used)*sum + math.Log(float64(m)/float64(n-1))
}

func TestKLMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	for _, d := range []int{1, 2, 5, 8, 9, 16, 33} {
		p := gaussSample(r, 300, constVec(d, 0), constVec(d, 1))
		q := gaussSample(r, 450, constVec(d, 0.3), constVec(d, 1.2))
		got, err := KLDivergence1NN(p, q)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveKL(p, q); math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
			t.Errorf("d=%d: got %.15g, naive %.15g", d, got, want)
		}
	}
}

// Tolerances for the Gaussian tests. The estimator is consistent but noisy;
// the figures below are its spread measured over 100 PCG seeds at the sizes
// used (mean and standard deviation of the estimate):
//
//	case                     true KL   mean    sd
//	shift d=2,  n=m=4000     0.5       0.489   0.044
//	scale d=2,  n=m=4000     0.636     0.643   0.038
//	same  d=2,  n=m=4000     0         0.003   0.029
//	shift d=16, n=m=4000     0.5       0.362   0.047  (finite-n bias)
//	same  d=16, n=m=4000     0        −0.005   0.042
//	d=4, n=1000, m=8000      0.386     0.431   0.071
//	d=4, n=4000, m=1000      0.386     0.426   0.049
//
// Each tolerance is |bias| + ~3.5–4 sd, so a different seed would not fail
// it, while the formula mistakes it is meant to catch move the estimate much
// further: dropping the d factor halves (d=2) or divides by 16 (d=16) the log
// term, and dropping log(m/(n−1)) shifts the unequal-size cases by 2.08 and
// −1.39 nats. In 16-D the 1-NN estimator is biased low at this n (the
// nearest-neighbour balls are not small compared with the distributions),
// hence the asymmetric band there.
func TestKLGaussians(t *testing.T) {
	type tc struct {
		name           string
		n, m           int
		mp, sp, mq, sq []float64
		lo, hi         float64 // accepted estimate − true KL
	}
	cases := []tc{
		{"shift d=2", 4000, 4000, constVec(2, 0), constVec(2, 1), unitVec(2), constVec(2, 1), -0.15, 0.15},
		{"scale d=2", 4000, 4000, constVec(2, 0), constVec(2, 0.5), constVec(2, 0), constVec(2, 1), -0.15, 0.15},
		{"same d=2", 4000, 4000, constVec(2, 0), constVec(2, 1), constVec(2, 0), constVec(2, 1), -0.12, 0.12},
		{"shift d=16", 4000, 4000, constVec(16, 0), constVec(16, 1), unitVec(16), constVec(16, 1), -0.3, 0.1},
		{"same d=16", 4000, 4000, constVec(16, 0), constVec(16, 1), constVec(16, 0), constVec(16, 1), -0.17, 0.17},
		{"n<m d=4", 1000, 8000, constVec(4, 0), constVec(4, 1), constVec(4, 0), constVec(4, math.Sqrt2), -0.25, 0.33},
		{"n>m d=4", 4000, 1000, constVec(4, 0), constVec(4, 1), constVec(4, 0), constVec(4, math.Sqrt2), -0.2, 0.25},
	}
	for ci, c := range cases {
		r := rand.New(rand.NewPCG(2024, uint64(ci)))
		p := gaussSample(r, c.n, c.mp, c.sp)
		q := gaussSample(r, c.m, c.mq, c.sq)
		want := gaussKL(c.mp, c.sp, c.mq, c.sq)
		got, err := KLDivergence1NN(p, q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%-10s true %.4f estimate %.4f", c.name, want, got)
		if got-want < c.lo || got-want > c.hi {
			t.Errorf("%s: estimate %.4f, true KL %.4f, accepted [%.4f, %.4f]", c.name, got, want, want+c.lo, want+c.hi)
		}
	}
	// Sanity of the closed form itself (value quoted in the brief).
	if got := gaussKL(constVec(2, 0), constVec(2, 1), unitVec(2), constVec(2, 1)); math.Abs(got-0.5) > 1e-15 {
		t.Errorf("gaussKL shift = %v, want 0.5", got)
	}
	if got, want := gaussKL(constVec(2, 0), constVec(2, 0.5), constVec(2, 0), constVec(2, 1)), 0.5*(0.5-2+math.Log(16)); math.Abs(got-want) > 1e-15 {
		t.Errorf("gaussKL scale = %v, want %v", got, want)
	}
}

// randomPoints returns n×d points; with grid set the coordinates are small
// integers so that ties and exact duplicates are common.
func randomPoints(r *rand.Rand, n, d int, grid bool) []float64 {
	x := make([]float64, n*d)
	for i := range x {
		if grid {
			x[i] = float64(r.IntN(5))
		} else {
			x[i] = r.NormFloat64()
		}
	}
	return x
}

func TestKDTreeMatchesBrute(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	for _, d := range []int{1, 2, 3, 5, 8, 12} {
		for _, grid := range []bool{false, true} {
			ref := randomPoints(r, 1200, d, grid)
			qry := randomPoints(r, 1500, d, grid)
			// Self search (query = ref) and cross search.
			for _, self := range []bool{true, false} {
				q := qry
				if self {
					q = ref
				}
				kd := nearestSqKD(q, ref, d, self, 3)
				br := nearestSqBrute(q, ref, d, self, 3)
				for i := range kd {
					if kd[i] != br[i] { // bit-identical, not just close
						t.Fatalf("d=%d grid=%v self=%v i=%d: kd %v brute %v", d, grid, self, i, kd[i], br[i])
					}
				}
				// And both agree with a plain scan.
				for i := 0; i < len(kd); i += 97 {
					best := math.Inf(1)
					for k := 0; k < len(ref)/d; k++ {
						if self && k == i {
							continue
						}
						var s float64
						for j := range d {
							diff := q[i*d+j] - ref[k*d+j]
							s += diff * diff
						}
						best = min(best, s)
					}
					if math.Abs(kd[i]-best) > 1e-12*(1+best) {
						t.Fatalf("d=%d grid=%v self=%v i=%d: kd %v plain %v", d, grid, self, i, kd[i], best)
					}
				}
			}
		}
	}
}

// The result must not depend on the number of goroutines, bit for bit.
func TestKLDeterministicAcrossWorkers(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, d := range []int{3, 24} {
		p := randomPoints(r, 2000, d, false)
		q := randomPoints(r, 1700, d, false)
		ref, err := kl1NN(p, q, d, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{2, 3, 8, runtime.GOMAXPROCS(0)} {
			got, err := kl1NN(p, q, d, w)
			if err != nil {
				t.Fatal(err)
			}
			if got != ref {
				t.Errorf("d=%d workers=%d: %v, want %v (1 worker)", d, w, got, ref)
			}
		}
	}
}

func TestKLValidation(t *testing.T) {
	ok := [][]float64{{0, 0}, {1, 0}, {0, 1}}
	cases := []struct {
		name    string
		p, q    [][]float64
		wantSub []string
	}{
		{"empty p", nil, ok, []string{"p", "0 rows"}},
		{"one row p", [][]float64{{1, 2}}, ok, []string{"p", "1 rows"}},
		{"empty q", ok, nil, []string{"q", "empty"}},
		{"zero dim", [][]float64{{}, {}}, ok, []string{"p", "dimension 0"}},
		{"ragged p", [][]float64{{0, 0}, {1}}, ok, []string{"p", "row 1", "1 columns"}},
		{"ragged q", ok, [][]float64{{0, 0}, {1, 2, 3}}, []string{"q", "row 1", "3 columns"}},
		{"dim mismatch", ok, [][]float64{{0, 0, 0}}, []string{"dimension 2", "dimension 3"}},
		{"NaN in p", [][]float64{{0, 0}, {1, 0}, {0, math.NaN()}}, ok, []string{"sample p", "row 2", "column 1", "NaN"}},
		{"Inf in q", ok, [][]float64{{0, 0}, {math.Inf(-1), 0}}, []string{"sample q", "row 1", "column 0", "-Inf"}},
		{"all duplicates", [][]float64{{1, 1}, {1, 1}, {1, 1}}, ok, []string{"duplicate"}},
		{"all in q", [][]float64{{0, 0}, {1, 0}}, ok, []string{"duplicate"}},
	}
	for _, c := range cases {
		_, err := KLDivergence1NN(c.p, c.q)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, s := range c.wantSub {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, s)
			}
		}
	}
}

// Duplicate handling: matches the naive transcription of the documented
// rule, and does not depend on the order of the rows.
func TestKLDuplicates(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, d := range []int{2, 10} {
		p := unflatten(randomPoints(r, 400, d, false), d)
		q := unflatten(randomPoints(r, 300, d, false), d)
		for range 100 { // exact copies within p, and of q rows into p
			p = append(p, p[r.IntN(400)])
			p = append(p, q[r.IntN(300)])
		}
		a, err := KLDivergence1NN(p, q)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveKL(p, q); math.IsNaN(want) || math.Abs(a-want) > 1e-9*(1+math.Abs(want)) {
			t.Errorf("d=%d: got %v, naive %v", d, a, want)
		}
		r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		b, err := KLDivergence1NN(p, q)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(a-b) > 1e-12 {
			t.Errorf("d=%d: %v before shuffle, %v after", d, a, b)
		}
	}
}

func unflatten(x []float64, d int) [][]float64 {
	out := make([][]float64, len(x)/d)
	for i := range out {
		out[i] = x[i*d : (i+1)*d : (i+1)*d]
	}
	return out
}

func TestKLFromLabels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lat := gaussSample(r, 500, constVec(3, 0), constVec(3, 1))
	labels := make([]int, len(lat))
	var p, q [][]float64
	for i := range lat {
		labels[i] = r.IntN(2)
		if labels[i] == 1 {
			for j := range lat[i] {
				lat[i][j] += 1
			}
			p = append(p, lat[i])
		} else {
			q = append(q, lat[i])
		}
	}
	got, err := KLFromLabels(lat, labels)
	if err != nil {
		t.Fatal(err)
	}
	want, err := KLDivergence1NN(p, q)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("KLFromLabels %v, KLDivergence1NN(label1, label0) %v", got, want)
	}

	errCases := []struct {
		name    string
		lat     [][]float64
		labels  []int
		wantSub string
	}{
		{"length", lat, labels[:10], "labels"},
		{"bad label", [][]float64{{0}, {1}, {2}, {3}}, []int{0, 1, 2, 1}, "label 2 at row 2"},
		{"no label 1", [][]float64{{0}, {1}, {2}}, []int{0, 0, 0}, "0 with label 1"},
		{"one label 0", [][]float64{{0}, {1}, {2}}, []int{1, 1, 0}, "1 with label 0"},
		{"one label 1", [][]float64{{0}, {1}, {2}}, []int{1, 0, 0}, "1 with label 1"},
		{"empty", nil, nil, "empty"},
		{"NaN", [][]float64{{0}, {1}, {math.NaN()}, {3}}, []int{0, 1, 0, 1}, "latents row 2 column 0"},
	}
	for _, c := range errCases {
		_, err := KLFromLabels(c.lat, c.labels)
		if err == nil || !strings.Contains(err.Error(), c.wantSub) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.wantSub)
		}
	}
}

func BenchmarkKL1NN(b *testing.B) {
	for _, d := range []int{2, 64} {
		b.Run("n=m=10000/d="+itoa(d), func(b *testing.B) {
			r := rand.New(rand.NewPCG(42, uint64(d)))
			p := gaussSample(r, 10000, constVec(d, 0), constVec(d, 1))
			q := gaussSample(r, 10000, unitVec(d), constVec(d, 1))
			b.ResetTimer()
			for b.Loop() {
				if _, err := KLDivergence1NN(p, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var buf [20]byte
	k := len(buf)
	for ; i > 0; i /= 10 {
		k--
		buf[k] = byte('0' + i%10)
	}
	return string(buf[k:])
}
