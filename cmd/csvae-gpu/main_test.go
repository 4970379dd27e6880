package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/metrics"
	"github.com/csvae-gpu/csvae-gpu/model"
)

var binary string

// TestMain builds the command once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "csvae-gpu-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "csvae-gpu")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runIn(t, "", args...)
}

// runIn runs the binary with dir as its working directory ("": the test's).
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

// Bad input gets one clear line on stderr and a non-zero exit.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, nil, 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", "gan", "--out", filepath.Join(dir, "r1")}, `unknown model "gan"`},
		{[]string{"train", "--model", "csvae", "--dataset", "mnist", "--out", filepath.Join(dir, "r2")}, `unknown dataset "mnist"`},
		{[]string{"train", "--model", "csvae", "--epochs", "-3", "--out", filepath.Join(dir, "r3")}, "epochs must not be negative, got -3"},
		{[]string{"train", "--model", "csvae", "--out", filepath.Join(file, "run")}, "--out: cannot create"},
		{[]string{"train", "--model", "csvae"}, "--out is required"},
		{[]string{"train", "--model", "csvae", "--betas", "1,2", "--out", filepath.Join(dir, "r4")}, "--betas wants 5"},
		{[]string{"train", "--model", "vae", "--adv-on-mean", "--out", filepath.Join(dir, "r6")}, "adv_on_mean needs a model with an adversary"},
		{[]string{"train", "--model", "csvae", "--adv-steps", "0", "--out", filepath.Join(dir, "r7")}, "--adv-steps must be at least 1"},
		{[]string{"train", "--model", "vae", "--adv-steps", "3", "--out", filepath.Join(dir, "r8")}, "adv_steps needs a model with an adversary"},
		{[]string{"train", "--model", "csvae", "--mean-gap", "-1", "--out", filepath.Join(dir, "r9")}, "mean_gap must be a finite weight of at least 0, got -1"},
		{[]string{"train", "--model", "csvae", "--mean-gap", "1", "--mean-gap-attrs", "Nope", "--out", filepath.Join(dir, "r10")}, "mean_gap_attrs: Nope is not one of the run's attributes"},
		{[]string{"train", "--model", "csvae", "--mean-gap-attrs", "x1>=10", "--out", filepath.Join(dir, "r11")}, "needs a mean_gap weight above 0"},
		{[]string{"train", "--model", "csvae", "--device", "gpu", "--out", filepath.Join(dir, "r5")}, "CPU-only"},
		{[]string{"train", "--resume", filepath.Join(dir, "nothing")}, "no checkpoint there"},
		{[]string{"train", "--model", "csvae", "--epochs", "x"}, "invalid value"},
		{[]string{"encode", "--run", filepath.Join(dir, "missing"), "--out", filepath.Join(dir, "e.csv")}, "no such run directory"},
		{[]string{"encode", "--run", dir, "--out", filepath.Join(dir, "e.csv")}, "no checkpoint.safetensors there"},
		{[]string{"eval", "--run", filepath.Join(dir, "missing")}, "no such run directory"},
		{[]string{"eval"}, "--run is required"},
	}
	for _, c := range cases {
		_, stderr, code := run(t, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("csvae-gpu %s: exit %d, stderr %q; want a non-zero exit and one line containing %q",
				strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	for _, r := range []string{"r1", "r2", "r3", "r4", "r5", "r9", "r10", "r11"} {
		if _, err := os.Stat(filepath.Join(dir, r, "checkpoint.safetensors")); err == nil {
			t.Errorf("a rejected command left a run in %s", r)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Every model trains, writes its run directory, encodes and evaluates; the
// KL that eval prints agrees with one computed from encode's CSV.
func TestTrainEncodeEval(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every model for two epochs")
	}
	for _, model := range []string{"vae", "condvae", "condvae-info", "csvae-noadv", "csvae"} {
		t.Run(model, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if _, stderr, code := run(t, "train", "--model", model, "--out", dir, "--epochs", "2", "--plot-every", "1", "--quiet", "--seed", "5"); code != 0 {
				t.Fatalf("train failed: %s", stderr)
			}
			for _, f := range []string{"config.json", "losses.csv", "checkpoint.safetensors", "kl.csv", "losses.png", "latent_z.png"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s missing or empty", f)
				}
			}
			hasW := model == "csvae" || model == "csvae-noadv" || model == "vae"
			if _, err := os.Stat(filepath.Join(dir, "latent_w.png")); (err == nil) != hasW {
				t.Errorf("latent_w.png present: %v, want %v", err == nil, hasW)
			}
			if rows := readCSV(t, filepath.Join(dir, "losses.csv")); len(rows) != 3 || rows[0][3] != "train_recon" {
				t.Errorf("losses.csv has %d rows, header %v", len(rows), rows[0])
			}
			out := filepath.Join(t.TempDir(), "z.csv")
			if _, stderr, code := run(t, "encode", "--run", dir, "--split", "test", "--out", out, "--sample"); code != 0 {
				t.Fatalf("encode failed: %s", stderr)
			}
			rows := readCSV(t, out)
			wantCols := 1 + 2
			if hasW {
				wantCols += 2
			}
			if len(rows) != 10001 || len(rows[0]) != wantCols || rows[0][0] != "y0" || rows[0][1] != "z0" {
				t.Fatalf("encode wrote %d rows, header %v", len(rows), rows[0])
			}
			// The KL in z from the CSV, by the estimator directly.
			var zs [][]float64
			var ys []int
			for _, r := range rows[1:] {
				y, _ := strconv.Atoi(r[0])
				z0, _ := strconv.ParseFloat(r[1], 64)
				z1, _ := strconv.ParseFloat(r[2], 64)
				ys, zs = append(ys, y), append(zs, []float64{z0, z1})
			}
			want, err := metrics.KLFromLabels(zs, ys)
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := run(t, "eval", "--run", dir, "--format", "json", "--draws", "1")
			if code != 0 {
				t.Fatalf("eval failed: %s", stderr)
			}
			var res []evalResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("eval --format json: %v\n%s", err, stdout)
			}
			// encode rounds to float32, so allow a hair of difference.
			if got := res[0].KL[0].Z; got < want-1e-3 || got > want+1e-3 {
				t.Errorf("eval's KL in z %.5f, from encode's CSV %.5f", got, want)
			}
			if res[0].KL[0].HasW != hasW || res[0].Epochs != 2 || res[0].KL[0].Draws != 1 {
				t.Errorf("eval result %+v", res[0])
			}
		})
	}
}

// Continuing a finished run with more epochs, and refusing to overwrite it.
func TestResumeExtends(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := run(t, "train", "--model", "csvae", "--out", dir, "--epochs", "1", "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "train", "--model", "csvae", "--out", dir, "--epochs", "1", "--quiet"); code == 0 || !strings.Contains(stderr, "already holds a run") {
		t.Errorf("training over an existing run: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", dir, "--seed", "3"); code == 0 || !strings.Contains(stderr, "cannot change when resuming") {
		t.Errorf("changing the seed on resume: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--resume", dir, "--epochs", "2", "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	if rows := readCSV(t, filepath.Join(dir, "losses.csv")); len(rows) != 3 || rows[2][0] != "2" {
		t.Errorf("after resuming to 2 epochs losses.csv has rows %v", rows)
	}
}

// The headline of the toy experiment, on a seed the README does not use and
// in 50 epochs instead of 100: with the README's recipe csvae's z carries
// (almost) nothing of the label, and w separates the labels. (csvae-noadv
// is not compared: on some seeds its z comes out label-free too, see the
// README's seed table.)
func TestToyRecipeSeparatesLabel(t *testing.T) {
	if testing.Short() {
		t.Skip("trains csvae for 50 epochs (about 20 s)")
	}
	dir := filepath.Join(t.TempDir(), "csvae")
	args := []string{"train", "--model", "csvae", "--out", dir, "--seed", "7", "--epochs", "50", "--plot-every", "50", "--quiet",
		"--betas", "20,1,2,100,1", "--adv-balance", "--adv-lr", "3e-3", "--lr-decay", "0.98"}
	if _, stderr, code := run(t, args...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	stdout, stderr, code := run(t, "eval", "--run", dir, "--format", "json", "--draws", "10")
	if code != 0 {
		t.Fatalf("eval: %s", stderr)
	}
	var res []evalResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	kl := res[0].KL[0]
	t.Logf("csvae: KL in z %.3f ± %.3f, in w %.2f", kl.Z, kl.ZSD, kl.W)
	// Ten draws of a label-free z average to within about ±0.03.
	if kl.Z > 0.1 || kl.W < 1.3 {
		t.Errorf("csvae: KL in z %.3f (want <= 0.1), in w %.2f (want >= 1.3)", kl.Z, kl.W)
	}
}

// A run trained with --ema is used through its averaged weights, and
// --raw-weights takes the last step's; a run without one is the same
// either way.
func TestMovingAverageWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	codes := func(dir string, extra ...string) string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "z.csv")
		if _, stderr, code := run(t, append([]string{"encode", "--run", dir, "--out", out}, extra...)...); code != 0 {
			t.Fatal(stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, ema := range []string{"0", "0.9"} {
		dir := filepath.Join(t.TempDir(), "run")
		if _, stderr, code := run(t, "train", "--model", "csvae", "--out", dir, "--epochs", "2", "--ema", ema, "--quiet"); code != 0 {
			t.Fatal(stderr)
		}
		if differ := codes(dir) != codes(dir, "--raw-weights"); differ != (ema != "0") {
			t.Errorf("--ema %s: codes with and without --raw-weights differ: %v", ema, differ)
		}
		if _, stderr, code := run(t, "train", "--resume", dir, "--ema", "0.5"); code == 0 || !strings.Contains(stderr, "--ema cannot change when resuming") {
			t.Errorf("changing --ema on resume: exit %d, %s", code, stderr)
		}
	}
	if _, stderr, code := run(t, "train", "--model", "csvae", "--out", filepath.Join(t.TempDir(), "x"), "--ema", "1"); code == 0 || !strings.Contains(stderr, "ema must be a decay in [0, 1)") {
		t.Errorf("--ema 1: exit %d, %s", code, stderr)
	}
}

func TestBalanceFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	_, stderr, code := run(t, "train", "--model", "csvae", "--out", dir, "--epochs", "1", "--balance", "0.5", "--quiet")
	if code != 0 {
		t.Fatal(stderr)
	}
	// The swiss roll's label 1 is on 14% of the points; at power 0.5 it
	// is drawn as sqrt(14.05)/(sqrt(14.05)+sqrt(85.95)) = 28.8% of them.
	if !strings.Contains(stderr, "rarest x1>=10=1: 1405 examples, 14.05% of the data, 28.79% of the draws") {
		t.Errorf("train --balance did not say what it draws:\n%s", stderr)
	}
	cfg, err := model.LoadConfig(filepath.Join(dir, model.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Balance != 0.5 {
		t.Errorf("config.json records balance %g, want 0.5", cfg.Balance)
	}
	if _, stderr, code := run(t, "train", "--resume", dir, "--balance", "1"); code == 0 || !strings.Contains(stderr, "--balance cannot change when resuming") {
		t.Errorf("changing --balance on resume: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "train", "--model", "csvae", "--out", filepath.Join(t.TempDir(), "x"), "--balance", "2"); code == 0 || !strings.Contains(stderr, "balance must be a power in [0, 1]") {
		t.Errorf("--balance 2: exit %d, %s", code, stderr)
	}
}
