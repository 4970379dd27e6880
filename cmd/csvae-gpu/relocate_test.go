package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// A run names its data by an absolute path, so it finds it from any working
// directory; once the data has moved, every command that reads it says so
// and takes --data, which must be the same data.
func TestMovedData(t *testing.T) {
	if testing.Short() {
		t.Skip("generates faces and trains an image model")
	}
	dir := t.TempDir()
	must := func(wd string, args ...string) string {
		t.Helper()
		_, stderr, code := runIn(t, wd, args...)
		if code != 0 {
			t.Fatalf("csvae-gpu %s: %s", strings.Join(args, " "), stderr)
		}
		return stderr
	}
	fails := func(want string, args ...string) {
		t.Helper()
		_, stderr, code := run(t, args...)
		if code == 0 || len(strings.Split(strings.TrimSpace(stderr), "\n")) != 1 || !strings.Contains(stderr, want) {
			t.Errorf("csvae-gpu %s: exit %d, stderr %q; want one line containing %q", strings.Join(args, " "), code, stderr, want)
		}
	}
	for _, seed := range []string{"4", "5"} {
		faces := filepath.Join(dir, "faces"+seed)
		must("", "synth", "--out", faces, "--n", "120", "--seed", seed, "--quiet")
		must("", "prepare", "--celeba", faces, "--out", filepath.Join(dir, "faces"+seed+".cache"), "--size", "32", "--quiet")
	}
	// Trained with a --data relative to its working directory.
	runDir := filepath.Join(dir, "vae")
	must(dir, "train", "--model", "vae", "--dataset", "celeba", "--data", "faces4.cache", "--image-size", "32",
		"--attrs", "Eyeglasses,Smiling", "--epochs", "1", "--batch", "32", "--out", "vae", "--quiet")
	cfg, err := model.LoadConfig(filepath.Join(runDir, model.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "faces4.cache"); cfg.Data != want {
		t.Fatalf("config.json names the data %q, want %q", cfg.Data, want)
	}
	encoded := func(name string, extra ...string) string {
		t.Helper()
		out := filepath.Join(dir, name)
		must("", append([]string{"encode", "--run", runDir, "--out", out}, extra...)...)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := encoded("before.csv") // from another working directory

	moved := filepath.Join(dir, "elsewhere", "faces.cache")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "faces4.cache"), moved); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"encode", "--run", runDir, "--out", filepath.Join(dir, "x.csv")},
		{"reconstruct", "--run", runDir, "--out", filepath.Join(dir, "x.png")},
		{"manipulate", "--run", runDir, "--attr", "Smiling=1", "--out", filepath.Join(dir, "x.png")},
		{"eval", "--run", runDir},
		{"train", "--resume", runDir, "--epochs", "2"},
	} {
		fails("pass --data with where that data is now", args...)
	}
	if got := encoded("after.csv", "--data", moved); got != before {
		t.Error("encode --data at the moved data wrote other codes than before the move")
	}
	must("", "reconstruct", "--run", runDir, "--data", moved, "--out", filepath.Join(dir, "r.png"))
	must("", "eval", "--run", runDir, "--data", moved, "--draws", "1")
	fails("is not the data the run "+runDir+" trained on", "encode", "--run", runDir, "--data", filepath.Join(dir, "faces5.cache"), "--out", filepath.Join(dir, "x.csv"))
	fails("is not the data", "train", "--resume", runDir, "--epochs", "2", "--data", filepath.Join(dir, "faces5.cache"))
	fails("no such file or directory", "encode", "--run", runDir, "--data", filepath.Join(dir, "nowhere"), "--out", filepath.Join(dir, "x.csv"))

	// Resuming with --data records the new place, for the commands after it.
	must("", "train", "--resume", runDir, "--epochs", "2", "--data", moved, "--quiet")
	if cfg, err = model.LoadConfig(filepath.Join(runDir, model.ConfigFile)); err != nil {
		t.Fatal(err)
	}
	if cfg.Data != moved {
		t.Errorf("after train --resume --data, config.json names the data %q, want %q", cfg.Data, moved)
	}
	encoded("resumed.csv")
	// A finished run, whose training writes no checkpoint, records it too:
	// the other commands read the configuration from the checkpoint.
	again := filepath.Join(dir, "again", "faces.cache")
	if err := os.MkdirAll(filepath.Dir(again), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, again); err != nil {
		t.Fatal(err)
	}
	must("", "train", "--resume", runDir, "--data", again, "--quiet")
	if got := encoded("again.csv"); got != encoded("resumed-again.csv", "--data", again) {
		t.Error("after train --resume --data on a finished run, encode without --data wrote other codes than with it")
	}

	toy := filepath.Join(dir, "toy")
	must("", "train", "--model", "vae", "--epochs", "1", "--out", toy, "--quiet")
	fails("has no data files", "encode", "--run", toy, "--data", moved, "--out", filepath.Join(dir, "x.csv"))
}
