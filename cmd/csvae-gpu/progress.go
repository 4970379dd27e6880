package main

import (
	"fmt"
	"os"
	"time"

	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/schollz/progressbar/v3"
)

// progress is the training progress bar: one bar over every remaining step,
// described by the epoch and the latest losses.
type progress struct {
	bar     *progressbar.ProgressBar
	epochs  int
	quiet   bool
	meanGap bool // show the mean-gap term too
}

func newProgress(quiet bool, t *model.Trainer) *progress {
	p := &progress{epochs: t.Net.Cfg.Epochs, quiet: quiet, meanGap: t.Net.Cfg.MeanGap > 0}
	if quiet {
		return p
	}
	perEpoch := (t.Train.Len() + t.Net.Cfg.Batch - 1) / t.Net.Cfg.Batch
	remaining := (t.Net.Cfg.Epochs-t.Pos.Epoch)*perEpoch - t.Pos.Batch
	p.bar = progressbar.NewOptions(max(remaining, 0),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("steps"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

func (p *progress) step(epoch, batch, batches int, l model.Losses) {
	if p.bar == nil {
		return
	}
	if batch == 1 || batch == batches || batch%10 == 0 {
		d := fmt.Sprintf("epoch %d/%d  recon %.3g  kl_w %.3g  kl_z %.3g  adv %.3g",
			epoch+1, p.epochs, l.Recon, l.KLW, l.KLZ, l.AdvTerm)
		if p.meanGap {
			d += fmt.Sprintf("  gap %.3g", l.MeanGap)
		}
		p.bar.Describe(d)
	}
	p.bar.Add(1)
}

// println prints a line above the bar.
func (p *progress) println(s string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(os.Stderr, s)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// counter is a progress bar for a count whose total may only be known once
// work starts (set reports both).
type counter struct {
	bar   *progressbar.ProgressBar
	quiet bool
	desc  string
}

func countBar(quiet bool, total int, desc string) *counter {
	c := &counter{quiet: quiet, desc: desc}
	if !quiet {
		c.bar = progressbar.NewOptions(max(total, 1), progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetWidth(24),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetDescription(desc), progressbar.OptionClearOnFinish())
	}
	return c
}

func (c *counter) set(done, total int) {
	if c.bar == nil {
		return
	}
	if total > 0 && c.bar.GetMax() != total {
		c.bar.ChangeMax(total)
	}
	c.bar.Set(done)
}

func (c *counter) finish() {
	if c.bar != nil {
		c.bar.Finish()
	}
}
