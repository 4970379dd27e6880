// Package plot turns training results into PNG pictures, because a latent
// scatter or a loss curve is judged at a glance while the same numbers in a
// log are not. Every picture is written atomically, so a viewer or a
// dashboard polling the output folder never sees half an image.
package plot

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi is low enough that a 5 inch picture stays a few hundred kilobytes and
// high enough that 10pt text is crisp.
const dpi = 100

// scatterSize keeps the picture square so that a round cloud in latent space
// looks round.
const scatterSize = 5 * vg.Inch

// Colours of the two classes. Blue and red read apart for most colour-blind
// viewers too, since they also differ in lightness.
var (
	label0Color = color.NRGBA{R: 31, G: 119, B: 180, A: 255}
	label1Color = color.NRGBA{R: 214, G: 39, B: 40, A: 255}
)

// Scatter writes a picture of 2-D points coloured by a binary label, the way
// one checks whether a latent subspace separates (or, for the label-free
// subspace, fails to separate) the two classes.
//
// Label-1 points are drawn on top of label-0 points so that a minority class
// stays visible inside a majority cloud. The legend counts each class, so a
// missing colour is not mistaken for a missing class.
func Scatter(path, title, xLabel, yLabel string, xs, ys []float64, labels []int) error {
	if err := checkScatter(xs, ys, labels); err != nil {
		return fmt.Errorf("plot: scatter %s: %w", path, err)
	}

	var byLabel [2]plotter.XYs
	for i, l := range labels {
		byLabel[l] = append(byLabel[l], plotter.XY{X: xs[i], Y: ys[i]})
	}

	p := newPlot(title, xLabel, yLabel)
	radius, alpha := dotStyle(len(xs))
	ch := chart{p: p}
	for l, clr := range []color.NRGBA{label0Color, label1Color} {
		dots := &plotter.Scatter{XYs: byLabel[l], GlyphStyle: draw.GlyphStyle{
			Color:  withAlpha(clr, alpha),
			Radius: radius,
			Shape:  draw.CircleGlyph{},
		}}
		if len(byLabel[l]) > 0 {
			p.Add(dots)
			ch.obstacles = append(ch.obstacles, byLabel[l])
		}
		// The legend swatch is opaque and larger than the dots: a faint
		// 1-pixel dot next to "y=1" would be hard to match to the cloud.
		swatch := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{
			Color:  clr,
			Radius: vg.Points(3.5),
			Shape:  draw.CircleGlyph{},
		}}
		ch.legend = append(ch.legend, legendEntry{
			name:   fmt.Sprintf("y=%d (n=%d)", l, len(byLabel[l])),
			thumbs: []plot.Thumbnailer{swatch},
		})
	}

	c := vgimg.NewWith(vgimg.UseWH(scatterSize, scatterSize), vgimg.UseDPI(dpi))
	// gonum draws the title flush with the top and the axes flush with the
	// right edge, where the outermost dots would be cut in half.
	dc := draw.Crop(draw.New(c), vg.Points(4), -vg.Points(12), vg.Points(4), -vg.Points(8))
	p.Title.TextStyle.Font.Size = fitFont(p.Title.TextStyle, title, dc.Size().X)
	ch.draw(dc)
	return savePNG(path, c)
}

// checkScatter refuses input that gonum would either panic on or silently
// draw wrong, naming the first bad index so the caller can find the sample.
func checkScatter(xs, ys []float64, labels []int) error {
	if len(xs) != len(ys) || len(xs) != len(labels) {
		return fmt.Errorf("lengths disagree: %d xs, %d ys, %d labels", len(xs), len(ys), len(labels))
	}
	for i := range xs {
		if err := checkFinite("xs", i, xs[i]); err != nil {
			return err
		}
		if err := checkFinite("ys", i, ys[i]); err != nil {
			return err
		}
		if labels[i] != 0 && labels[i] != 1 {
			return fmt.Errorf("labels[%d] is %d, want 0 or 1", i, labels[i])
		}
	}
	return nil
}

func checkFinite(name string, i int, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s[%d] is %v", name, i, v)
	}
	return nil
}

// dotStyle shrinks and fades the dots as their number grows: a few hundred
// points should each be visible, ten thousand should read as a density where
// overlap darkens the colour instead of hiding everything beneath.
func dotStyle(n int) (radius vg.Length, alpha float64) {
	switch {
	case n <= 500:
		return vg.Points(2.5), 0.8
	case n <= 3000:
		return vg.Points(1.8), 0.5
	default:
		return vg.Points(1.3), 0.35
	}
}

func withAlpha(c color.NRGBA, alpha float64) color.NRGBA {
	c.A = uint8(math.Round(alpha * 255))
	return c
}

// newPlot holds the styling shared by every picture so they look alike.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.X.Tick.Label.Font.Size = vg.Points(9)
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	p.Add(grid)
	return p
}

// fitFont returns the font size at which txt fits in width, so a long title
// is shrunk rather than cut off at the picture's edges.
func fitFont(sty text.Style, txt string, width vg.Length) vg.Length {
	const minSize = 7
	if w := sty.Width(txt); w > width {
		return vg.Length(math.Max(minSize, float64(sty.Font.Size*width/w)))
	}
	return sty.Font.Size
}
