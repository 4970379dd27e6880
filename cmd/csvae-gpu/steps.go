package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// StepsFile is the per-step loss log that train --log-steps writes, so that
// two runs (a GPU and a CPU one from the same seed) can be compared step by
// step.
const StepsFile = "steps.csv"

// stepLog appends one row per training step: the model's step count, where
// in the epoch it was, seconds since training began in this process, every
// loss component and the main objective.
type stepLog struct {
	f     *os.File
	w     *bufio.Writer
	cfg   model.Config
	began time.Time
}

func stepsHeader() string { return stepsHeaderOf(model.LossNames) }

func stepsHeaderOf(names []string) string {
	return "step,epoch,batch,seconds," + strings.Join(names, ",") + ",main"
}

// openStepLog creates dir/steps.csv, or on resume keeps the rows up to the
// checkpoint's step (later ones will be trained again) and appends.
func openStepLog(dir string, cfg model.Config, resumedAt int) (*stepLog, error) {
	path := filepath.Join(dir, StepsFile)
	var keep []string
	if resumedAt > 0 {
		if b, err := os.ReadFile(path); err == nil {
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			// A log begun before the mean_gap column gets it, as 0, before main.
			legacy := lines[0] == stepsHeaderOf(model.LegacyLossNames)
			if !legacy && lines[0] != stepsHeader() {
				return nil, fmt.Errorf("%s: unexpected header; move it away to start a new log", path)
			}
			for _, l := range lines[1:] {
				first, _, _ := strings.Cut(l, ",")
				if s, err := strconv.Atoi(first); err == nil && s <= resumedAt {
					if legacy {
						i := strings.LastIndex(l, ",")
						l = l[:i] + ",0" + l[i:]
					}
					keep = append(keep, l)
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--log-steps: %v", unwrapPath(err))
	}
	l := &stepLog{f: f, w: bufio.NewWriter(f), cfg: cfg, began: time.Now()}
	l.w.WriteString(stepsHeader() + "\n")
	for _, row := range keep {
		l.w.WriteString(row + "\n")
	}
	return l, l.w.Flush()
}

// add writes one step's row. Rows are flushed every few steps so a run
// that is killed leaves most of its log behind.
func (l *stepLog) add(step, epoch, batch int, ls model.Losses) {
	row := []string{strconv.Itoa(step), strconv.Itoa(epoch), strconv.Itoa(batch),
		strconv.FormatFloat(time.Since(l.began).Seconds(), 'f', 4, 64)}
	for _, v := range append(ls.Values(), ls.Main(&l.cfg)) {
		row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
	}
	l.w.WriteString(strings.Join(row, ",") + "\n")
	if step%16 == 0 {
		l.w.Flush()
	}
}

func (l *stepLog) Close() error {
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
