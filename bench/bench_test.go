package bench

import (
	"testing"
	"time"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Every case must set up and run on the CPU backend and report a positive
// rate; the suite is what `csvae-gpu bench` runs.
func TestCasesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark case once")
	}
	for _, c := range append(Kernels(), TrainSteps()...) {
		r := Run(model.CPU{}, c, time.Millisecond)
		rate, unit := r.Rate()
		if !(rate > 0) || r.PerRun <= 0 {
			t.Errorf("%s %s: rate %v %s, per run %v", c.Name, c.Shape, rate, unit, r.PerRun)
		}
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
