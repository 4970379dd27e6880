package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
)

// summary reads the results of one experiment run on several seeds and
// says what a single seed cannot: how far each score moves between seeds
// and on how many of them a model met the targets. On the synthetic faces
// csvae's Eyeglasses preservation spans 0.82 to 0.93 over four seeds
// (experiments/README.md, "Longer training"), so one seed's pass or miss
// says little on its own.
func summaryCommand() *cli.Command {
	return &cli.Command{
		Name:      "summary",
		Usage:     "combine the eval --json results of one experiment on several seeds: mean, spread and targets met",
		ArgsUsage: "RESULTS.json...",
		Description: "Each file is the --json output of eval --classifier for one seed of the same experiment\n" +
			"(experiments/seeds.sh writes them). Per model and attribute: the mean, standard deviation\n" +
			"and range over the seeds of manipulation, preservation and leakage above chance, and how\n" +
			"many seeds met all three targets.",
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "min-manipulation", Value: 0.9, Usage: "target: manipulation at least this"},
			&cli.Float64Flag{Name: "min-preservation", Value: 0.9, Usage: "target: preservation at least this"},
			&cli.Float64Flag{Name: "max-leakage", Value: 0.05, Usage: "target: leakage accuracy at most this above chance"},
			&cli.StringFlag{Name: "format", Value: "markdown", Usage: "markdown or csv"},
			&cli.StringFlag{Name: "out", Usage: "also write the table to this file"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("no results given: pass one results.json per seed (eval --json)")
			}
			format := c.String("format")
			if format != "markdown" && format != "csv" {
				return fmt.Errorf("unknown --format %q (want markdown or csv)", format)
			}
			seeds, err := readSeedResults(c.Args().Slice())
			if err != nil {
				return err
			}
			t := targets{c.Float64("min-manipulation"), c.Float64("min-preservation"), c.Float64("max-leakage")}
			rows := summarise(seeds, t)
			write := func(w io.Writer) error {
				if format == "csv" {
					return writeSummaryCSV(w, rows)
				}
				return writeSummaryMarkdown(w, rows, len(seeds), t)
			}
			if p := c.String("out"); p != "" {
				if err := atomicfile.Write(p, write); err != nil {
					return err
				}
			}
			return write(os.Stdout)
		},
	}
}

type targets struct{ manipulation, preservation, leakage float64 }

// readSeedResults reads one eval --json file per seed. The files must hold
// the same rows (model, attribute, kept attributes) in the same order: rows
// of different experiments averaged together would mean nothing.
func readSeedResults(paths []string) ([][]editResult, error) {
	var seeds [][]editResult
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var rows []editResult
		if err := json.Unmarshal(b, &rows); err != nil {
			return nil, fmt.Errorf("%s: not the --json output of eval: %v", p, err)
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s holds no results", p)
		}
		for _, r := range rows {
			if r.Model == "" || r.Attr == "" {
				return nil, fmt.Errorf("%s: a row without a model or an attribute: not the --json output of eval", p)
			}
		}
		if len(seeds) > 0 {
			if err := sameRows(seeds[0], rows); err != nil {
				return nil, fmt.Errorf("%s and %s are not one experiment: %v", paths[0], p, err)
			}
		}
		seeds = append(seeds, rows)
	}
	return seeds, nil
}

// sameRows names the first row where two seeds' results differ.
func sameRows(a, b []editResult) error {
	name := func(r editResult) string {
		s := r.Model + " on " + r.Attr
		if len(r.Kept) > 0 {
			s += " keeping " + strings.Join(r.Kept, ",")
		}
		return s
	}
	for i := range min(len(a), len(b)) {
		if name(a[i]) != name(b[i]) {
			return fmt.Errorf("row %d is %s in the first, %s in the other", i+1, name(a[i]), name(b[i]))
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("%d rows against %d", len(a), len(b))
	}
	return nil
}

// seedSpread is one score over the seeds; SD is the sample standard
// deviation (n − 1 in the denominator), 0 for a single seed.
type seedSpread struct {
	Mean, SD, Min, Max float64
	N                  int
}

func seedSpreadOf(v []float64) seedSpread {
	s := seedSpread{N: len(v), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range v {
		s.Mean += x / float64(len(v))
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
	}
	if len(v) > 1 {
		for _, x := range v {
			s.SD += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(s.SD / float64(len(v)-1))
	}
	return s
}

// summaryRow is one model and attribute over the seeds. Edits is false for
// the labels reference (no edits), Leak false for the ideal editor (no z);
// Met counts the seeds meeting all three targets, for rows with both.
type summaryRow struct {
	Model, Attr                         string
	Edits, Leak                         bool
	Manipulation, Preservation, LeakGap seedSpread
	Met                                 int
}

func summarise(seeds [][]editResult, t targets) []summaryRow {
	var out []summaryRow
	for i, first := range seeds[0] {
		row := summaryRow{Model: first.Model, Attr: first.Attr, Edits: first.Images > 0, Leak: first.LeakLatentDims > 0}
		var manip, pres, leak []float64
		for _, rows := range seeds {
			r := rows[i]
			gap := r.LeakAcc - r.LeakChance
			manip, pres, leak = append(manip, r.Manipulation), append(pres, r.Preservation), append(leak, gap)
			if row.Edits && row.Leak && r.Manipulation >= t.manipulation && r.Preservation >= t.preservation && gap <= t.leakage {
				row.Met++
			}
		}
		row.Manipulation, row.Preservation, row.LeakGap = seedSpreadOf(manip), seedSpreadOf(pres), seedSpreadOf(leak)
		out = append(out, row)
	}
	return out
}

func writeSummaryMarkdown(w io.Writer, rows []summaryRow, seeds int, t targets) error {
	cell := func(ok bool, s seedSpread, sign bool) string {
		if !ok {
			return "–"
		}
		f := func(v float64) string {
			if sign {
				return fmt.Sprintf("%+.3f", v)
			}
			return fmt.Sprintf("%.3f", v)
		}
		if s.N == 1 {
			return f(s.Mean)
		}
		return fmt.Sprintf("%s ± %.3f (%s to %s)", f(s.Mean), s.SD, f(s.Min), f(s.Max))
	}
	fmt.Fprintf(w, "Over %d seeds: mean ± standard deviation (lowest to highest). Targets: manipulation ≥ %g, preservation ≥ %g, leakage ≤ %g above chance.\n\n",
		seeds, t.manipulation, t.preservation, t.leakage)
	fmt.Fprintln(w, "| model | attribute | manipulation | preservation | leakage − chance | seeds meeting all three |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | ---: |")
	for _, r := range rows {
		met := "–"
		if r.Edits && r.Leak {
			met = fmt.Sprintf("%d of %d", r.Met, seeds)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Model, r.Attr,
			cell(r.Edits, r.Manipulation, false), cell(r.Edits, r.Preservation, false), cell(r.Leak, r.LeakGap, true), met)
	}
	return nil
}

func writeSummaryCSV(w io.Writer, rows []summaryRow) error {
	cw := csv.NewWriter(w)
	head := []string{"model", "attr", "seeds"}
	for _, m := range []string{"manipulation", "preservation", "leakage_above_chance"} {
		head = append(head, m+"_mean", m+"_sd", m+"_min", m+"_max")
	}
	cw.Write(append(head, "seeds_meeting_targets"))
	for _, r := range rows {
		rec := []string{r.Model, r.Attr, strconv.Itoa(r.Manipulation.N)}
		for _, m := range []struct {
			ok bool
			s  seedSpread
		}{{r.Edits, r.Manipulation}, {r.Edits, r.Preservation}, {r.Leak, r.LeakGap}} {
			if !m.ok {
				rec = append(rec, "", "", "", "")
				continue
			}
			for _, v := range []float64{m.s.Mean, m.s.SD, m.s.Min, m.s.Max} {
				rec = append(rec, strconv.FormatFloat(v, 'f', 5, 64))
			}
		}
		met := ""
		if r.Edits && r.Leak {
			met = strconv.Itoa(r.Met)
		}
		cw.Write(append(rec, met))
	}
	cw.Flush()
	return cw.Error()
}
