//go:build gpu

package cuda

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// The kernels, compiled by `make kernels` from kernels/*.cu: one fatbin per
// family (compute_80 PTX, which the driver JIT-compiles for any newer chip,
// and sm_90 machine code for Hopper), and the PTX alone, which is where the
// kernel names and parameter lists are read from.
//
//go:embed ptx/*.fatbin ptx/*.ptx
var ptxFiles embed.FS

// module is one family's image and the kernels it declares.
type module struct {
	name    string
	image   []byte
	entries []Entry
}

func embedded() ([]module, error) {
	images, err := fs.Glob(ptxFiles, "ptx/*.fatbin")
	if err != nil {
		return nil, err
	}
	var mods []module
	for _, f := range images {
		image, err := ptxFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ptxName := strings.TrimSuffix(f, ".fatbin") + ".ptx"
		ptx, err := ptxFiles.ReadFile(ptxName)
		if err != nil {
			return nil, fmt.Errorf("cuda: %s has no %s (run `make kernels`)", f, ptxName)
		}
		entries, err := ParseEntries(string(ptx))
		if err != nil {
			return nil, fmt.Errorf("cuda: %s: %w", ptxName, err)
		}
		mods = append(mods, module{path.Base(f), image, entries})
	}
	return mods, nil
}
