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
		Description: "Runs each backend operation at the shapes the models use, and a training step of\n" +
			"every model. With --device gpu the GPU and the CPU fallback run side by side and\n" +
			"the table shows their ratio.",
		Flags: append([]cli.Flag{
			&cli.DurationFlag{Name: "min-time", Value: 300 * time.Millisecond, Usage: "time spent on each case per backend"},
			&cli.StringFlag{Name: "filter", Usage: "only cases whose name matches this regular expression"},
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
	if be.Name() != "cpu" {
		backends = append(backends, model.CPU{})
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
	for _, cs := range append(bench.Kernels(), bench.TrainSteps()...) {
		if !filter.MatchString(cs.Name) {
			continue
		}
		cells := []string{cs.Name, cs.Shape}
		var times []time.Duration
		for _, b := range backends {
			r := bench.Run(b, cs, c.Duration("min-time"))
			rate, unit := r.Rate()
			cells = append(cells, fmtDuration(r.PerRun), fmt.Sprintf("%.3g %s", rate, unit))
			times = append(times, r.PerRun)
		}
		if len(times) > 1 {
			cells = append(cells, fmt.Sprintf("%.1fx", times[1].Seconds()/times[0].Seconds()))
		}
		row(cells...)
	}
	return w.Flush()
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
