package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/csvae-gpu/csvae-gpu/gpu"
	"github.com/urfave/cli/v2"
)

func selftestCommand() *cli.Command {
	return &cli.Command{
		Name:  "selftest",
		Usage: "run every GPU kernel against its CPU fallback on random inputs",
		Description: "Each check performs one backend operation at one shape, on the device and on the pure-Go\n" +
			"CPU fallback, from the same random inputs, and compares every output (relative L2 error\n" +
			"against the check's tolerance). Exits 1 if any check fails. --list prints the check names\n" +
			"and needs no device; --per-op N keeps N checks of each operation, spread over its shapes\n" +
			"(a quicker representative subset, e.g. under compute-sanitizer).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "filter", Usage: "only checks whose name matches this regular expression"},
			&cli.IntFlag{Name: "per-op", Usage: "only N checks of each operation (the first, the last and evenly between, by name); 0: all"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seeds the random inputs"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or markdown"},
			&cli.BoolFlag{Name: "list", Usage: "print the names of the selected checks and exit"},
		}, deviceFlags...),
		Action: selftest,
	}
}

func selftest(c *cli.Context) error {
	format := c.String("format")
	if format != "text" && format != "markdown" {
		return fmt.Errorf("unknown --format %q (want text or markdown)", format)
	}
	if c.Int("per-op") < 0 {
		return fmt.Errorf("--per-op must not be negative, got %d", c.Int("per-op"))
	}
	keep, err := checkFilter(c.String("filter"), c.Int("per-op"))
	if err != nil {
		return err
	}
	if c.Bool("list") {
		n := 0
		for _, ch := range gpu.Checks() {
			if keep(ch.Name) {
				fmt.Println(ch.Name)
				n++
			}
		}
		if n == 0 {
			return errors.New("no check matches the selection")
		}
		return nil
	}
	if d := c.String("device"); d == "cpu" {
		return errors.New("selftest compares a device's kernels against the CPU fallback; run it with --device gpu (with the GPU binary, make gpu)")
	}
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	if cl, ok := be.(io.Closer); ok {
		defer cl.Close()
	}
	name := be.Name()
	if d, ok := be.(interface{ Device() gpu.Device }); ok {
		name = d.Device().Name()
	}
	results := gpu.RunChecks(be, c.Uint64("seed"), keep)
	if len(results) == 0 {
		return errors.New("no check matches the selection")
	}
	failed := writeSelftest(os.Stdout, results, format == "markdown")
	fmt.Printf("selftest: %d/%d checks passed on %s (seed %d)\n", len(results)-failed, len(results), name, c.Uint64("seed"))
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(results))
	}
	return nil
}

// checkFilter selects checks by a regular expression on their names and,
// with perOp > 0, at most perOp of each operation (the part of the name
// before "/"): the first, the last and evenly spaced ones between, in the
// suite's sorted order, so that a subset still spans the shapes.
func checkFilter(expr string, perOp int) (func(string) bool, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("--filter: %v", err)
	}
	if perOp == 0 {
		return re.MatchString, nil
	}
	byOp := map[string][]string{}
	for _, ch := range gpu.Checks() {
		if re.MatchString(ch.Name) {
			op, _, _ := strings.Cut(ch.Name, "/")
			byOp[op] = append(byOp[op], ch.Name)
		}
	}
	chosen := map[string]bool{}
	for _, names := range byOp {
		for _, i := range spread(len(names), perOp) {
			chosen[names[i]] = true
		}
	}
	return func(name string) bool { return chosen[name] }, nil
}

// spread returns min(k, m) indices of 0..m-1: the first, the last and
// evenly spaced ones between.
func spread(m, k int) []int {
	if k >= m {
		k = m
	}
	if k == 1 {
		return []int{0}
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = (i*(m-1) + (k-1)/2) / (k - 1)
	}
	return idx
}

// writeSelftest prints one row per check and returns how many failed.
func writeSelftest(out io.Writer, results []gpu.Result, md bool) (failed int) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(cells ...string) {
		if md {
			fmt.Fprintf(out, "| %s |\n", strings.Join(cells, " | "))
			return
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row("check", "kernels", "rel. error", "tolerance", "result")
	if md {
		row("---", "---", "---:", "---:", "---")
	}
	for _, r := range results {
		verdict, relErr := "pass", fmt.Sprintf("%.2e", r.RelErr)
		switch {
		case r.Err != nil:
			// Keep the table one line a check.
			verdict, relErr = "FAIL: "+strings.Join(strings.Fields(r.Err.Error()), " "), "-"
		case !r.Pass && r.Worst == "":
			verdict, relErr = "FAIL: the device returned a different number of outputs", "-"
		case !r.Pass:
			verdict = "FAIL (" + r.Worst + ")"
		}
		if verdict != "pass" {
			failed++
		}
		kernels := strings.Join(r.Kernels, ", ")
		if kernels == "" {
			kernels = "-"
		}
		if md {
			verdict = strings.ReplaceAll(verdict, "|", `\|`)
		}
		row(r.Name, kernels, relErr, fmt.Sprintf("%.0e", r.Tol), verdict)
	}
	tw.Flush()
	return failed
}
