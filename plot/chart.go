package plot

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// chart is a plot together with what its legend needs to know. gonum draws
// legends without a backdrop at a fixed corner, straight over the data; we
// draw our own so it can sit where it hides the least.
type chart struct {
	p      *plot.Plot
	legend []legendEntry
	// obstacles are the data the legend should avoid covering.
	obstacles []plotter.XYs
	// joined says the obstacles are polylines, whose segments are as much
	// in the way as their vertices.
	joined bool
}

type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

func (ch chart) draw(c draw.Canvas) {
	ch.p.Draw(c)
	if len(ch.legend) == 0 {
		return
	}
	data := ch.p.DataCanvas(c)
	drawLegend(data, ch.legend, ch.occupied(data))
}

// segmentSamples is how many points per polyline segment are tested against
// the legend box; enough that a steep segment crossing a corner counts.
const segmentSamples = 8

// occupied returns where the data lands on the canvas.
func (ch chart) occupied(data draw.Canvas) []vg.Point {
	tx, ty := ch.p.Transforms(&data)
	var pts []vg.Point
	for _, xys := range ch.obstacles {
		var prev vg.Point
		for i, xy := range xys {
			pt := vg.Point{X: tx(xy.X), Y: ty(xy.Y)}
			if ch.joined && i > 0 {
				for k := 1; k < segmentSamples; k++ {
					f := vg.Length(k) / segmentSamples
					pts = append(pts, vg.Point{X: prev.X + f*(pt.X-prev.X), Y: prev.Y + f*(pt.Y-prev.Y)})
				}
			}
			pts = append(pts, pt)
			prev = pt
		}
	}
	return pts
}

// Legend geometry: the gap between the legend backdrop and the axes, and
// between the backdrop's edge and the entries.
var (
	legendMargin = vg.Points(4)
	legendPad    = vg.Points(3)
)

// drawLegend puts the legend in the corner of the data area that covers the
// fewest data points (preferring top right, then top left, bottom right,
// bottom left on ties), on a mostly opaque backdrop so it stays readable over
// whatever it does cover.
func drawLegend(data draw.Canvas, entries []legendEntry, occupied []vg.Point) {
	leg := plot.NewLegend()
	leg.TextStyle.Font.Size = vg.Points(10)
	leg.ThumbnailWidth = vg.Points(18)
	leg.Padding = vg.Points(2)
	leg.Top = true
	for _, e := range entries {
		leg.Add(e.name, e.thumbs...)
	}
	size := leg.Rectangle(data).Size()
	size.Y += leg.TextStyle.FontExtents().Descent

	var best vg.Rectangle
	bestCount := -1
	for _, corner := range []struct{ top, right bool }{{true, true}, {true, false}, {false, true}, {false, false}} {
		var min vg.Point
		if corner.right {
			min.X = data.Max.X - legendMargin - legendPad - size.X
		} else {
			min.X = data.Min.X + legendMargin + legendPad
		}
		if corner.top {
			min.Y = data.Max.Y - legendMargin - legendPad - size.Y
		} else {
			min.Y = data.Min.Y + legendMargin + legendPad
		}
		box := vg.Rectangle{Min: min, Max: min.Add(size)}
		if n := countInside(pad(box, legendPad), occupied); bestCount < 0 || n < bestCount {
			best, bestCount = box, n
			leg.Left = !corner.right
		}
	}

	back := pad(best, legendPad)
	data.SetColor(color.NRGBA{R: 255, G: 255, B: 255, A: 220})
	data.Fill(back.Path())
	data.SetLineStyle(draw.LineStyle{Color: color.Gray{Y: 170}, Width: vg.Points(0.5)})
	data.Stroke(back.Path())
	leg.Draw(draw.Canvas{Canvas: data.Canvas, Rectangle: best})
}

func pad(r vg.Rectangle, by vg.Length) vg.Rectangle {
	return vg.Rectangle{
		Min: vg.Point{X: r.Min.X - by, Y: r.Min.Y - by},
		Max: vg.Point{X: r.Max.X + by, Y: r.Max.Y + by},
	}
}

func countInside(r vg.Rectangle, pts []vg.Point) int {
	n := 0
	for _, p := range pts {
		if p.X >= r.Min.X && p.X <= r.Max.X && p.Y >= r.Min.Y && p.Y <= r.Max.Y {
			n++
		}
	}
	return n
}
