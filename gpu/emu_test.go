package gpu_test

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/csvae-gpu/csvae-gpu/gpu"
	"github.com/csvae-gpu/csvae-gpu/kernels/emu"
	"github.com/csvae-gpu/csvae-gpu/model"
)

var _ model.Backend = (*gpu.Backend)(nil)

// TestEmuChecks runs the conformance suite (check.go) on the emulated
// device (kernels/emu), then, over the whole suite, requires every kernel
// compiled into the emulator to be launched by some check and every kernel
// a check lists to be compiled in.
//
//	go test ./gpu/ -run Emu -v                     # all checks, both orders
//	GPU_CHECKS='^Conv' go test ./gpu/ -run Emu -v  # names matching a regexp
//	EMU_THREADS=1 ...                              # one OS thread: deterministic atomics
//	EMU_TRACE=1 ...                                # print every launch
//	CGO_CXXFLAGS='-fsanitize=address -g -O1' go test -asan ./gpu/ -run Emu
//	                                               # out-of-bounds accesses
func TestEmuChecks(t *testing.T) {
	launched, filtered := runEmuChecks(t, emu.New)
	if filtered {
		return
	}
	all := emu.Kernels()
	var missing []string
	for _, k := range all {
		if !strings.HasPrefix(k, "emutest_") && launched[k] == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Errorf("kernels launched by no check: %s", strings.Join(missing, ", "))
	}
	// Kernels a check lists that the emulator lacks: a stale Check.Kernels,
	// or a family without its kernels/emu/<family>.cc.
	unknown := map[string]string{}
	for _, c := range gpu.Checks() {
		for _, k := range c.Kernels {
			if !slices.Contains(all, k) && unknown[k] == "" {
				unknown[k] = c.Name
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(unknown)) {
		t.Errorf("kernel %s (listed by check %s and maybe others) is not compiled into the emulator", k, unknown[k])
	}
	t.Log(launchSummary(launched))
}

// TestEmuChecksReversed runs the suite again with blocks, and the threads
// of each block, in reverse order: a missing __syncthreads or blocks racing
// on an output pass in one order and fail in the other.
func TestEmuChecksReversed(t *testing.T) {
	runEmuChecks(t, emu.NewReversed)
}

// runEmuChecks runs the checks GPU_CHECKS selects, each on a fresh device
// from newDev (device errors are sticky: one failing kernel must not fail
// every check after it), logs a table and fails on any failing check. It
// returns the launches per kernel and whether a filter was set.
func runEmuChecks(t *testing.T, newDev func() *emu.Device) (launched map[string]int, filtered bool) {
	if len(gpu.Checks()) == 0 {
		t.Skip("no checks registered yet (gpu/*_check.go)")
	}
	var keep func(string) bool
	filter := os.Getenv("GPU_CHECKS")
	if filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil {
			t.Fatalf("GPU_CHECKS: %v", err)
		}
		keep = re.MatchString
	}
	launched = map[string]int{}
	var results []gpu.Result
	var took []time.Duration
	for _, c := range gpu.Checks() {
		if keep != nil && !keep(c.Name) {
			continue
		}
		dev := newDev()
		b := gpu.New(dev)
		start := time.Now()
		results = append(results, gpu.RunChecks(b, 1, func(name string) bool { return name == c.Name })...)
		took = append(took, time.Since(start))
		for k, n := range dev.Launched() {
			launched[k] += n
		}
		b.Close()
	}
	if len(results) == 0 {
		t.Fatalf("GPU_CHECKS=%q matches no check", filter)
	}
	t.Logf("%-50s %10s %10s %8s  %s", "check", "rel err", "tol", "time", "")
	for i, r := range results {
		verdict := "ok"
		switch {
		case r.Err != nil:
			verdict = "ERROR: " + r.Err.Error()
		case !r.Pass:
			verdict = "FAIL (worst output: " + r.Worst + ")"
		}
		t.Logf("%-50s %10.3g %10.3g %8s  %s", r.Name, r.RelErr, r.Tol, took[i].Round(time.Millisecond), verdict)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Name, r.Err)
		} else if !r.Pass {
			t.Errorf("%s: relative error %.3g on %s exceeds tolerance %.3g", r.Name, r.RelErr, r.Worst, r.Tol)
		}
	}
	return launched, filter != ""
}

func launchSummary(launched map[string]int) string {
	ks := make([]string, 0, len(launched))
	for k := range launched {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	var s strings.Builder
	s.WriteString("launches:")
	for _, k := range ks {
		fmt.Fprintf(&s, " %s=%d", k, launched[k])
	}
	return s.String()
}
