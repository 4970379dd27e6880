package plot

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Series is one curve of a panel, such as the training loss over epochs.
type Series struct {
	Name string
	X, Y []float64
}

// Panel is one chart of the grid, typically one loss component.
type Panel struct {
	Title  string
	Series []Series
}

// Panel geometry. Each panel is wide rather than tall because curves over
// epochs are read left to right.
const (
	panelWidth  = 4 * vg.Inch
	panelHeight = 3 * vg.Inch
	titleHeight = 0.45 * vg.Inch
	// markedPoints is the most points a curve may have and still get a
	// marker on each: sparse curves (a test loss evaluated every few epochs)
	// should show where the measurements are.
	markedPoints = 30
)

// seriesPalette is matplotlib's tab10, so pictures look familiar to people
// who also read Python output.
var seriesPalette = []color.NRGBA{
	{R: 31, G: 119, B: 180, A: 255},
	{R: 255, G: 127, B: 14, A: 255},
	{R: 44, G: 160, B: 44, A: 255},
	{R: 214, G: 39, B: 40, A: 255},
	{R: 148, G: 103, B: 189, A: 255},
	{R: 140, G: 86, B: 75, A: 255},
	{R: 227, G: 119, B: 194, A: 255},
	{R: 127, G: 127, B: 127, A: 255},
	{R: 188, G: 189, B: 34, A: 255},
	{R: 23, G: 190, B: 207, A: 255},
}

// Panels writes a grid of line charts, one per panel, so that every loss
// component of a run can be checked in one picture. Loss components differ by
// orders of magnitude, so each panel scales its own y axis; a shared axis
// would flatten the small ones into a line at zero.
//
// A series keeps its colour in every panel (by order of first appearance),
// so "train" is the same colour everywhere. Points where X or Y is NaN or
// infinite are skipped, and the curve joins their neighbours, which suits a
// test loss that is only measured every few epochs. A series with a single
// point is drawn as a marker. cols <= 0 picks a near-square grid.
func Panels(path, title string, xLabel string, panels []Panel, cols int) error {
	if len(panels) == 0 {
		return fmt.Errorf("plot: panels %s: no panels", path)
	}
	colors := seriesColors(panels)
	charts := make([]chart, len(panels))
	for i, pn := range panels {
		ch, err := panelChart(pn, xLabel, colors)
		if err != nil {
			return fmt.Errorf("plot: panels %s: panel %d (%q): %w", path, i, pn.Title, err)
		}
		charts[i] = ch
	}

	cols, rows := gridShape(len(panels), cols)
	c := vgimg.NewWith(
		vgimg.UseWH(vg.Length(cols)*panelWidth, vg.Length(rows)*panelHeight+titleHeight),
		vgimg.UseDPI(dpi),
	)
	dc := draw.New(c)
	drawTitle(dc, title)
	body := draw.Crop(dc, 0, 0, 0, -titleHeight)

	// plot.Align lines up the data areas of neighbouring panels even when
	// their tick labels differ in width, so the epochs line up by column.
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
		for k := range cols {
			if i := r*cols + k; i < len(charts) {
				grid[r][k] = charts[i].p
			}
		}
	}
	tiles := draw.Tiles{
		Rows: rows, Cols: cols,
		PadX: vg.Points(14), PadY: vg.Points(14),
		PadLeft: vg.Points(6), PadRight: vg.Points(10), PadBottom: vg.Points(6),
	}
	canvases := plot.Align(grid, tiles, body)
	for i, ch := range charts {
		ch.draw(canvases[i/cols][i%cols])
	}
	return savePNG(path, c)
}

// seriesColors gives every series name a colour by order of first
// appearance across all panels, so the same name is the same colour in
// every panel.
func seriesColors(panels []Panel) map[string]color.NRGBA {
	colors := make(map[string]color.NRGBA)
	for _, pn := range panels {
		for _, s := range pn.Series {
			if _, ok := colors[s.Name]; !ok {
				colors[s.Name] = seriesPalette[len(colors)%len(seriesPalette)]
			}
		}
	}
	return colors
}

// panelChart builds one panel on its own axes; the y range comes from this
// panel's finite values alone.
func panelChart(pn Panel, xLabel string, colors map[string]color.NRGBA) (chart, error) {
	p := newPlot(pn.Title, xLabel, "")
	p.Title.TextStyle.Font.Size = vg.Points(11)
	ch := chart{p: p, joined: true}
	anyPoint := false
	for _, s := range pn.Series {
		if len(s.X) != len(s.Y) {
			return chart{}, fmt.Errorf("series %q: %d X values but %d Y values", s.Name, len(s.X), len(s.Y))
		}
		xys := finitePoints(s.X, s.Y)
		clr := colors[s.Name]
		line := &plotter.Line{XYs: xys, LineStyle: draw.LineStyle{Color: clr, Width: vg.Points(1.5)}}
		marks := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{
			Color: clr, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{},
		}}
		// The legend shows each series the way it is drawn.
		var drawn []plot.Thumbnailer
		switch {
		case len(xys) == 0:
			drawn = []plot.Thumbnailer{line}
		case len(xys) == 1:
			p.Add(marks)
			drawn = []plot.Thumbnailer{marks}
		case len(xys) <= markedPoints:
			p.Add(line, marks)
			drawn = []plot.Thumbnailer{line, marks}
		default:
			p.Add(line)
			drawn = []plot.Thumbnailer{line}
		}
		if len(xys) > 0 {
			anyPoint = true
			ch.obstacles = append(ch.obstacles, xys)
		}
		if s.Name != "" {
			ch.legend = append(ch.legend, legendEntry{name: s.Name, thumbs: drawn})
		}
	}
	if !anyPoint {
		// An empty panel would otherwise look like a drawing bug.
		p.Title.Text += " (no finite values)"
	}
	return ch, nil
}

// finitePoints drops the points that cannot be placed on an axis.
func finitePoints(xs, ys []float64) plotter.XYs {
	xys := make(plotter.XYs, 0, len(xs))
	for i := range xs {
		if isFinite(xs[i]) && isFinite(ys[i]) {
			xys = append(xys, plotter.XY{X: xs[i], Y: ys[i]})
		}
	}
	return xys
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// gridShape fills rows first; too many columns would leave an empty row of
// nothing but padding.
func gridShape(n, cols int) (int, int) {
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	return cols, (n + cols - 1) / cols
}

// drawTitle writes the overall title centred in the top band of dc,
// shrinking it when it is wider than the picture rather than clipping it.
func drawTitle(dc draw.Canvas, title string) {
	if title == "" {
		return
	}
	sty := text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, 14),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: plot.DefaultTextHandler,
	}
	sty.Font.Size = fitFont(sty, title, dc.Size().X-vg.Points(20))
	dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - titleHeight/2}, title)
}
