package bench

import (
	"testing"
	"time"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Every case must set up and run on the CPU backend and report a positive
// rate; the suite is what `csvae-gpu bench` runs. One run each keeps the
// conv and training-step cases short on a small machine.
func TestCasesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark case once")
	}
	seen := map[string]bool{}
	for _, c := range append(Kernels(), TrainSteps()...) {
		if seen[c.Name+" "+c.Shape] {
			t.Errorf("two cases are called %s %s", c.Name, c.Shape)
		}
		seen[c.Name+" "+c.Shape] = true
		op := c.Setup(model.CPU{})
		t0 := time.Now()
		op()
		r := Result{Case: c, PerRun: max(time.Since(t0), time.Nanosecond)}
		if rate, unit := r.Rate(); !(rate > 0) {
			t.Errorf("%s %s: rate %v %s", c.Name, c.Shape, rate, unit)
		}
	}
}

// syncCounter is the CPU backend with a queue that only Sync drains, as on
// a GPU: an op queues work, and a timing that stops the clock with work
// still queued would be wrong.
type syncCounter struct {
	model.CPU
	queued, syncs int
}

func (s *syncCounter) Sync() { s.queued = 0; s.syncs++ }

func TestRunSynchronises(t *testing.T) {
	be := &syncCounter{}
	c := Case{Name: "fake", Items: 1, Setup: func(model.Backend) func() {
		return func() { be.queued++; time.Sleep(50 * time.Microsecond) }
	}}
	r := Run(be, c, 50*time.Millisecond)
	if be.queued != 0 {
		t.Errorf("Run returned with %d ops queued", be.queued)
	}
	// Warm-up, sizing run, and one Sync per repeat.
	if be.syncs != 2+5 && be.syncs != 2+3 {
		t.Errorf("Run synchronised %d times, want 7 (or 5 for slow cases)", be.syncs)
	}
	if r.Runs < 3 || r.PerRun < 50*time.Microsecond {
		t.Errorf("Run timed %d runs at %v each", r.Runs, r.PerRun)
	}
}

// A case slower than minTime is timed a few times, not five repeats of at
// least one run each plus two.
func TestRunSlowCase(t *testing.T) {
	be := &syncCounter{}
	c := Case{Name: "slow", Items: 1, Setup: func(model.Backend) func() {
		return func() { time.Sleep(5 * time.Millisecond) }
	}}
	if r := Run(be, c, time.Millisecond); r.Runs != 3 {
		t.Errorf("slow case: %d timed runs, want 3", r.Runs)
	}
}

// BenchmarkCPU runs the suite under go test -bench, one sub-benchmark per case.
func BenchmarkCPU(b *testing.B) {
	for _, c := range append(Kernels(), TrainSteps()...) {
		b.Run(c.Name+"/"+c.Shape, func(b *testing.B) {
			op := c.Setup(model.CPU{})
			for b.Loop() {
				op()
			}
			r := Result{Case: c, PerRun: b.Elapsed() / time.Duration(b.N)}
			rate, unit := r.Rate()
			b.ReportMetric(rate, unit)
		})
	}
}
