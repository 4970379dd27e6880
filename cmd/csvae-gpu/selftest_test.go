package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/gpu"
)

// The selftest table: one row per check, failures named, errors kept on
// their row.
func TestSelftestTable(t *testing.T) {
	results := []gpu.Result{
		{Name: "Op/a", Kernels: []string{"k1", "k2"}, RelErr: 1.5e-7, Tol: 1e-6, Pass: true},
		{Name: "Op/b", Kernels: []string{"k1"}, RelErr: 0.3, Worst: "dx", Tol: 1e-6},
		{Name: "Op/c", Tol: 1e-6, Err: errors.New("launch failed:\nbad | thing")},
	}
	for _, md := range []bool{false, true} {
		var b strings.Builder
		if failed := writeSelftest(&b, results, md); failed != 2 {
			t.Errorf("markdown %v: %d failed, want 2", md, failed)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		want := 4
		if md {
			want = 5
		}
		if len(lines) != want {
			t.Fatalf("markdown %v: %d lines, want %d:\n%s", md, len(lines), want, b.String())
		}
		out := b.String()
		for _, s := range []string{"k1, k2", "1.50e-07", "pass", "FAIL (dx)", "FAIL: launch failed: bad"} {
			if !strings.Contains(out, s) {
				t.Errorf("markdown %v: no %q in\n%s", md, s, out)
			}
		}
		if md && strings.Count(lines[4], " | ") != 4 {
			t.Errorf("an error's | breaks the markdown row: %s", lines[4])
		}
	}
}

// Without a GPU build, selftest says what it needs, in one line, and fails.
func TestSelftestNeedsGPU(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"selftest"}, "run it with --device gpu"},
		{[]string{"selftest", "--device", "cpu"}, "run it with --device gpu"},
		{[]string{"selftest", "--filter", "("}, "--filter"},
		{[]string{"selftest", "--device", "gpu", "--format", "html"}, "unknown --format"},
	} {
		_, stderr, code := run(t, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line with %q", c.args, code, stderr, c.want)
		}
	}
}

// bench filters on "name shape" and prints a markdown table.
func TestBenchFilter(t *testing.T) {
	stdout, stderr, code := run(t, "bench", "--filter", "^ConvForward enc4 |^BatchNormForward enc4 ", "--min-time", "1ms", "--format", "markdown")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "| ConvForward enc4 | b64 128x8x8->256x4x4 |") ||
		!strings.Contains(lines[2], "GFLOP/s") || !strings.Contains(lines[3], "BatchNormForward enc4") {
		t.Errorf("bench table:\n%s", stdout)
	}
}

// --max-steps stops with a checkpoint, --log-steps writes one row a step,
// and a run resumed to a later limit logs what an uninterrupted one does.
func TestStepLimitAndLog(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	common := []string{"--model", "csvae", "--log-steps", "--quiet", "--seed", "3"}
	for _, args := range [][]string{
		append([]string{"train", "--out", a, "--max-steps", "7"}, common...),
		{"train", "--resume", a, "--max-steps", "15", "--log-steps", "--quiet"},
		append([]string{"train", "--out", b, "--max-steps", "15"}, common...),
	} {
		_, stderr, code := run(t, args...)
		if code != 0 || !strings.Contains(stderr, "(--max-steps)") {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	read := func(dir string) []string {
		data, err := os.ReadFile(filepath.Join(dir, StepsFile))
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Split(l, ",")
			rows = append(rows, strings.Join(append(f[:3:3], f[4:]...), ",")) // all but the seconds
		}
		return rows
	}
	ra, rb := read(a), read(b)
	if len(rb) != 16 || rb[0] != "step,epoch,batch,recon,kl_w,kl_z,adv_term,adv_bce,mean_gap,main" || !strings.HasPrefix(rb[15], "15,1,15,") {
		t.Fatalf("steps.csv of 15 steps:\n%s", strings.Join(rb, "\n"))
	}
	if strings.Join(ra, "\n") != strings.Join(rb, "\n") {
		t.Errorf("resumed log differs from the uninterrupted one:\n%s\n---\n%s", strings.Join(ra, "\n"), strings.Join(rb, "\n"))
	}
	// A log written before the mean_gap column resumes with it filled in as 0.
	data, err := os.ReadFile(filepath.Join(a, StepsFile))
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, l := range legacy {
		f := strings.Split(l, ",")
		legacy[i] = strings.Join(append(f[:len(f)-2:len(f)-2], f[len(f)-1]), ",")
	}
	os.WriteFile(filepath.Join(a, StepsFile), []byte(strings.Join(legacy, "\n")+"\n"), 0o644)
	if _, stderr, code := run(t, "train", "--resume", a, "--max-steps", "17", "--log-steps", "--quiet"); code != 0 {
		t.Fatalf("resume over a legacy steps.csv: exit %d: %s", code, stderr)
	}
	if rc := read(a); len(rc) != 18 || strings.Join(rc[:16], "\n") != strings.Join(rb, "\n") {
		t.Errorf("legacy steps.csv resumed:\n%s\nwant its first 16 rows as\n%s", strings.Join(rc, "\n"), strings.Join(rb, "\n"))
	}
	if _, stderr, code := run(t, "train", "--model", "csvae", "--out", filepath.Join(dir, "c"), "--max-steps", "-1"); code != 1 || !strings.Contains(stderr, "--max-steps must not be negative") {
		t.Errorf("--max-steps -1: exit %d, %s", code, stderr)
	}
}

// --per-op spreads its picks over an operation's checks, ends included.
func TestSpread(t *testing.T) {
	for _, c := range []struct {
		m, k int
		want string
	}{{10, 4, "[0 3 6 9]"}, {10, 1, "[0]"}, {3, 5, "[0 1 2]"}, {38, 6, "[0 7 15 22 30 37]"}, {2, 2, "[0 1]"}} {
		if got := fmt.Sprint(spread(c.m, c.k)); got != c.want {
			t.Errorf("spread(%d, %d) = %s, want %s", c.m, c.k, got, c.want)
		}
	}
}
