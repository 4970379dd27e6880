package plot

import (
	"fmt"
	"io"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
	"gonum.org/v1/plot/vg/vgimg"
)

// savePNG writes the picture atomically, so an interrupted run leaves
// either the old picture or the new one, never a truncated file that image
// viewers choke on.
func savePNG(path string, c *vgimg.Canvas) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	return nil
}
