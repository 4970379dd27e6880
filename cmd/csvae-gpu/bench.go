package main

import (
	"fmt"
	"os"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/csvae-gpu/csvae-gpu/bench"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "time every kernel and whole training steps",
		Description: "Runs each backend operation at the shapes the models use (every convolution and batch\n" +
			"norm of the CelebA-64 network at batch 64), and a training step of every model. With\n" +
			"--device gpu the GPU and the CPU fallback run side by side and the table shows their\n" +
			"ratio; the CPU side spends --cpu-min-time on each case, --no-cpu leaves it out.",
		Flags: append([]cli.Flag{
			&cli.DurationFlag{Name: "min-time", Value: 300 * time.Millisecond, Usage: "time spent on each case by the device"},
			&cli.DurationFlag{Name: "cpu-min-time", Value: 100 * time.Millisecond, Usage: "time spent on each case by the CPU fallback beside a GPU"},
			&cli.BoolFlag{Name: "no-cpu", Usage: "with --device gpu: time the GPU only"},
			&cli.StringFlag{Name: "filter", Usage: "only cases whose name and shape (\"name shape\") match this regular expression"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or markdown"},
		}, deviceFlags...),
		Action: runBench,
	}
}

func runBench(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	filter, err := regexp.Compile(c.String("filter"))
	if err != nil {
		return fmt.Errorf("--filter: %v", err)
	}
	backends := []model.Backend{be}
	minTimes := []time.Duration{c.Duration("min-time")}
	if be.Name() != "cpu" && !c.Bool("no-cpu") {
		backends = append(backends, model.CPU{})
		minTimes = append(minTimes, c.Duration("cpu-min-time"))
	}
	md := c.String("format") == "markdown"
	if !md && c.String("format") != "text" {
		return fmt.Errorf("unknown --format %q (want text or markdown)", c.String("format"))
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) {
		if md {
			fmt.Print("| ")
			for i, s := range cells {
				if i > 0 {
					fmt.Print(" | ")
				}
				fmt.Print(s)
			}
			fmt.Println(" |")
			return
		}
		for _, s := range cells {
			fmt.Fprint(w, s, "\t")
		}
		fmt.Fprintln(w)
	}
	header := []string{"case", "shape"}
	for _, b := range backends {
		header = append(header, b.Name()+" time", b.Name()+" rate")
	}
	if len(backends) > 1 {
		header = append(header, "speedup")
	}
	row(header...)
	if md {
		sep := make([]string, len(header))
		for i := range sep {
			sep[i] = "---:"
		}
		sep[0], sep[1] = "---", "---"
		row(sep...)
	}
	failed := 0
	for _, cs := range append(bench.Kernels(), bench.TrainSteps()...) {
		if !filter.MatchString(cs.Name + " " + cs.Shape) {
			continue
		}
		cells := []string{cs.Name, cs.Shape}
		var times []time.Duration
		for i, b := range backends {
			r, err := runCase(b, cs, minTimes[i])
			if err != nil {
				failed++
				fmt.Fprintf(os.Stderr, "bench: %s %s on %s: %v\n", cs.Name, cs.Shape, b.Name(), err)
				cells = append(cells, "error", "-")
				continue
			}
			rate, unit := r.Rate()
			cells = append(cells, fmtDuration(r.PerRun), fmt.Sprintf("%.3g %s", rate, unit))
			times = append(times, r.PerRun)
		}
		if len(backends) > 1 {
			speedup := "-"
			if len(times) == len(backends) {
				speedup = fmt.Sprintf("%.1fx", times[1].Seconds()/times[0].Seconds())
			}
			cells = append(cells, speedup)
		}
		row(cells...)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d cases failed (see above)", failed)
	}
	return nil
}

// runCase times one case, turning a device failure (the GPU backend panics
// with *gpu.Error) into an error so that the rest of the table still runs.
func runCase(be model.Backend, cs bench.Case, minTime time.Duration) (r bench.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return bench.Run(be, cs, minTime), nil
}

// fmtDuration prints three significant digits in the unit that suits.
func fmtDuration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	default:
		return fmt.Sprintf("%.3g µs", s*1e6)
	}
}
