package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Text sizes of ImageGrid, in pixels (the sheet is drawn at 72 dpi, where a
// point is a pixel).
const (
	gridTitleSize = 14
	gridLabelSize = 10
	gridMinSize   = 7
)

// gridNaN is the colour of a NaN value, so that bugs show.
var gridNaN = color.RGBA{R: 255, B: 255, A: 255}

// ImageGrid writes a PNG contact sheet of images to path. Each image is c
// channels (1: grey, 3: RGB) of h x w float32 values in CHW order, nominally
// in [0,1]: values outside are clamped, and a pixel with any NaN channel is
// magenta. The images are laid out row by row, cols to a row (cols <= 0:
// about a square), each magnified scale times by nearest neighbour, with a
// small gap between them. title, when not empty, goes on top; rowLabels,
// when not nil, has one label per row, drawn to the left of it; colLabels,
// when not nil, one per column, drawn above it (long labels wrap at spaces
// or shrink to fit the column; "\n" breaks a line). The file is written
// atomically.
func ImageGrid(path string, images [][]float32, c, h, w int, cols int, scale int, title string, rowLabels, colLabels []string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("plot: image grid %s: %s", path, fmt.Sprintf(format, args...))
	}
	n := len(images)
	switch {
	case n == 0:
		return fail("no images")
	case c != 1 && c != 3:
		return fail("%d channels, want 1 or 3", c)
	case h < 1 || w < 1:
		return fail("image size %dx%d, want at least 1x1", h, w)
	case scale < 1:
		return fail("scale %d, want at least 1", scale)
	}
	for i, im := range images {
		if len(im) != c*h*w {
			return fail("image %d has %d values, want c*h*w = %d*%d*%d = %d", i, len(im), c, h, w, c*h*w)
		}
	}
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	if rowLabels != nil && len(rowLabels) != rows {
		return fail("%d row labels for %d rows (%d images, %d to a row)", len(rowLabels), rows, n, cols)
	}
	if colLabels != nil && len(colLabels) != cols {
		return fail("%d column labels for %d columns", len(colLabels), cols)
	}

	cellW, cellH := w*scale, h*scale
	gap := max(2, min(cellW, cellH)/16)
	labelSty := gridStyle(gridLabelSize)
	titleSty := gridStyle(gridTitleSize)

	// Column labels: wrapped to the column, shrunk if a word is too wide.
	colText := make([]string, len(colLabels))
	colSize := make([]vg.Length, len(colLabels))
	colBand := 0
	for j, l := range colLabels {
		sty := labelSty
		txt := gridWrap(sty, l, vg.Length(cellW))
		for sty.Font.Size > gridMinSize && sty.Width(txt) > vg.Length(cellW) {
			sty.Font.Size--
			txt = gridWrap(sty, l, vg.Length(cellW))
		}
		colText[j], colSize[j] = txt, sty.Font.Size
		if l != "" {
			colBand = max(colBand, int(math.Ceil(float64(sty.Height(txt))))+gap)
		}
	}
	rowBand := 0
	for _, l := range rowLabels {
		if l != "" {
			rowBand = max(rowBand, int(math.Ceil(float64(labelSty.Width(l))))+2*gap)
		}
	}
	titleBand := 0
	if title != "" {
		titleBand = int(math.Ceil(float64(titleSty.Height(title)))) + 2*gap
	}

	gridW := cols*cellW + (cols-1)*gap
	gridH := rows*cellH + (rows-1)*gap
	x0 := gap + rowBand
	width := x0 + gridW + gap
	if title != "" {
		width = max(width, int(math.Ceil(float64(titleSty.Width(title))))+4*gap)
		x0 = max(x0, (width+rowBand-gridW)/2) // centre the grid under a wide title
	}
	y0 := titleBand + colBand + gap
	height := y0 + gridH + gap

	cv := vgimg.NewWith(vgimg.UseWH(vg.Length(width), vg.Length(height)), vgimg.UseDPI(72))
	dc := draw.New(cv)
	// vg's origin is the bottom left; top is in pixels from the top.
	at := func(x, top float64) vg.Point { return vg.Point{X: vg.Length(x), Y: vg.Length(float64(height) - top)} }
	if title != "" {
		sty := titleSty
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
		dc.FillText(sty, at(float64(width)/2, float64(gap+titleBand/2)), title)
	}
	for j, l := range colText {
		if l == "" {
			continue
		}
		sty := labelSty
		sty.Font.Size = colSize[j]
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
		x := float64(x0 + j*(cellW+gap) + cellW/2)
		dc.FillText(sty, at(x, float64(y0-gap/2-1)), l)
	}
	for i, l := range rowLabels {
		if l == "" {
			continue
		}
		sty := labelSty
		sty.XAlign, sty.YAlign = draw.XRight, draw.YCenter
		y := float64(y0 + i*(cellH+gap) + cellH/2)
		dc.FillText(sty, at(float64(x0-gap), y), l)
	}

	img, ok := cv.Image().(*image.RGBA)
	if !ok { // vgimg draws on an RGBA; copy in case that ever changes
		img = image.NewRGBA(cv.Image().Bounds())
		for y := range height {
			for x := range width {
				img.Set(x, y, cv.Image().At(x, y))
			}
		}
	}
	plane := h * w
	for k, im := range images {
		ox, oy := x0+(k%cols)*(cellW+gap), y0+(k/cols)*(cellH+gap)
		for y := range h {
			for x := range w {
				p := y*w + x
				var px color.RGBA
				if c == 1 {
					v := gridByte(im[p])
					px = color.RGBA{R: v, G: v, B: v, A: 255}
					if math.IsNaN(float64(im[p])) {
						px = gridNaN
					}
				} else {
					r, g, b := im[p], im[plane+p], im[2*plane+p]
					px = color.RGBA{R: gridByte(r), G: gridByte(g), B: gridByte(b), A: 255}
					if math.IsNaN(float64(r)) || math.IsNaN(float64(g)) || math.IsNaN(float64(b)) {
						px = gridNaN
					}
				}
				for sy := range scale {
					row := img.Pix[img.PixOffset(ox+x*scale, oy+y*scale+sy):]
					for sx := range scale {
						row[4*sx], row[4*sx+1], row[4*sx+2], row[4*sx+3] = px.R, px.G, px.B, px.A
					}
				}
			}
		}
	}

	err := atomicfile.Write(path, func(wr io.Writer) error { return png.Encode(wr, img) })
	if err != nil {
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	return nil
}

func gridStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, size),
		Handler: plot.DefaultTextHandler,
	}
}

// ImagePNG writes one size x size RGB image (CHW float32 values in [0,1],
// clamped) to path as a PNG, atomically: one picture per file, for scoring
// by another program rather than for looking at.
func ImagePNG(path string, v []float32, size int) error {
	if len(v) != 3*size*size {
		return fmt.Errorf("plot: image %s: %d values, want 3*%d*%d", path, len(v), size, size)
	}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	p := size * size
	for i := range p {
		img.Set(i%size, i/size, color.RGBA{R: gridByte(v[i]), G: gridByte(v[p+i]), B: gridByte(v[2*p+i]), A: 255})
	}
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// gridByte maps [0,1] to 0..255, clamping (NaN gives 0; the caller paints
// it magenta).
func gridByte(v float32) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + 0.5)
}

// gridWrap breaks txt at spaces so that each line fits width where it can;
// explicit newlines are kept.
func gridWrap(sty text.Style, txt string, width vg.Length) string {
	var out []string
	for _, para := range strings.Split(txt, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case sty.Width(line+" "+word) <= width:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
