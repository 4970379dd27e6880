package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/safetensors"
)

// The image path from a fresh directory: synth, prepare, train a vae and a
// csvae started from it, then sample and reconstruct, as a user would.
func TestImagePipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("generates faces and trains two image models")
	}
	dir := t.TempDir()
	faces, cache := filepath.Join(dir, "faces"), filepath.Join(dir, "faces32.cache")
	mustRun := func(args ...string) string {
		t.Helper()
		_, stderr, code := run(t, args...)
		if code != 0 {
			t.Fatalf("csvae-gpu %s: %s", strings.Join(args, " "), stderr)
		}
		return stderr
	}
	mustRun("synth", "--out", faces, "--n", "120", "--seed", "4", "--quiet")
	for _, f := range []string{"list_attr_celeba.txt", "list_eval_partition.txt", "img_align_celeba/000120.jpg"} {
		if _, err := os.Stat(filepath.Join(faces, f)); err != nil {
			t.Fatalf("synth did not write %s", f)
		}
	}
	if out := mustRun("prepare", "--celeba", faces, "--out", cache, "--size", "32", "--quiet"); !strings.Contains(out, "prepared 120 images") {
		t.Errorf("prepare said %q", out)
	}

	vae, cs := filepath.Join(dir, "vae"), filepath.Join(dir, "csvae")
	common := []string{"--dataset", "celeba", "--data", cache, "--image-size", "32", "--attrs", "Eyeglasses,Smiling", "--epochs", "2", "--batch", "32", "--quiet"}
	mustRun(append([]string{"train", "--model", "vae", "--out", vae}, common...)...)
	out := mustRun(append([]string{"train", "--model", "csvae", "--out", cs, "--init-from", vae, "--adv-balance"}, common...)...)
	if !strings.Contains(out, "initialised") {
		t.Errorf("--init-from said nothing of what it copied: %s", out)
	}
	for _, f := range []string{"recon.png", "losses.png", "latent_w_Eyeglasses.png", "latent_w_Smiling.png", "checkpoint.safetensors"} {
		if _, err := os.Stat(filepath.Join(cs, f)); err != nil {
			t.Errorf("image run lacks %s", f)
		}
	}
	// The checkpoint holds the batch-norm running statistics by PyTorch's names.
	ck, err := safetensors.ReadFile(filepath.Join(cs, "checkpoint.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ck.Get("trunk.1.bn.running_var"); !ok {
		t.Error("checkpoint lacks trunk.1.bn.running_var")
	}

	grid := func(args ...string) {
		t.Helper()
		png := filepath.Join(dir, args[0]+".png")
		mustRun(append(append([]string{}, args...), "--run", cs, "--out", png)...)
		checkPNG(t, png)
	}
	grid("sample", "--n", "8")
	grid("reconstruct", "--n", "6")

	// Bad input, one line each.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", "csvae", "--dataset", "celeba", "--data", cache, "--image-size", "32", "--attrs", "Sunglasses", "--out", filepath.Join(dir, "x")}, `unknown attribute "Sunglasses"`},
		{[]string{"train", "--model", "csvae", "--dataset", "celeba", "--out", filepath.Join(dir, "y")}, "--data is required"},
		{[]string{"train", "--model", "csvae", "--dataset", "celeba", "--data", cache, "--image-size", "64", "--out", filepath.Join(dir, "z")}, "holds 32x32 images"},
		{[]string{"prepare", "--celeba", filepath.Join(dir, "nowhere"), "--out", filepath.Join(dir, "c")}, "nowhere"},
		{[]string{"sample", "--run", filepath.Join(dir, "vae"), "--out", filepath.Join(dir, "s.png"), "--n", "0"}, "--n must be in"},
	} {
		_, stderr, code := run(t, c.args...)
		if code == 0 || len(strings.Split(strings.TrimSpace(stderr), "\n")) != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("csvae-gpu %s: exit %d, stderr %q; want one line containing %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 64 || b.Dy() < 32 {
		t.Errorf("%s is only %v", path, b)
	}
}

func TestLabelString(t *testing.T) {
	attrs := []string{"Eyeglasses", "Smiling", "Wearing_Lipstick"}
	for _, c := range []struct {
		y    []float32
		want string
	}{
		{[]float32{0, 0, 0}, "-"},
		{[]float32{1, 0, 0}, "Eyeglasses"},
		{[]float32{1, 1, 0}, "Eyeglasses Smiling"},
		{[]float32{1, 1, 1}, "Eyegla Smilin WL"},
	} {
		if got := labelString(attrs, c.y); got != c.want {
			t.Errorf("labelString(%v) = %q, want %q", c.y, got, c.want)
		}
	}
}
