package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

func encodeCommand() *cli.Command {
	return &cli.Command{
		Name:  "encode",
		Usage: "write the latent code of every example of a split as CSV",
		Description: "One row per example: y0.. (attributes), z0.. and w0.. (posterior means, or one\n" +
			"reparameterised sample each with --sample). For the vae, z0.. is the first Dz\n" +
			"dimensions of its latent and w0.. the last 2k, the split the reference study used.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run directory written by train"},
			movedDataFlag, rawWeightsFlag,
			&cli.StringFlag{Name: "split", Value: "test", Usage: "train, valid (image data) or test"},
			&cli.StringFlag{Name: "out", Usage: "CSV file to write"},
			&cli.BoolFlag{Name: "sample", Usage: "draw z and w from the posterior instead of taking its mean"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the --sample noise (default: the one eval uses)"},
		}, deviceFlags...),
		Action: encode,
	}
}

func encode(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	net, _, err := openRun(c, be, c.String("run"))
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return fmt.Errorf("--out is required: the CSV file to write")
	}
	if err := locateData(c, &net.Cfg, c.String("run")); err != nil {
		return err
	}
	data, s, err := loadSplit(net.Cfg, c.String("split"))
	if err != nil {
		return err
	}
	defer data.Close()
	seed := model.SampleSeed(net.Cfg)
	if c.IsSet("seed") {
		seed = c.Uint64("seed")
	}
	enc := model.EncodeSplit(net, s, c.Bool("sample"), seed)
	err = atomicfile.Write(out, func(w io.Writer) error { return writeEncoded(w, enc) })
	if err != nil {
		return fmt.Errorf("--out: %v", unwrapPath(err))
	}
	fmt.Fprintf(os.Stderr, "wrote %d rows to %s\n", len(enc.Y), out)
	return nil
}

func writeEncoded(w io.Writer, e model.Encoded) error {
	var buf []byte
	header := func(prefix string, n int) {
		for i := range n {
			if len(buf) > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, prefix...)
			buf = strconv.AppendInt(buf, int64(i), 10)
		}
	}
	header("y", len(e.Y[0]))
	header("z", len(e.Z[0]))
	if e.HasW() {
		header("w", len(e.W[0]))
	}
	buf = append(buf, '\n')
	for i := range e.Y {
		for j, y := range e.Y[i] {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, int64(y), 10)
		}
		row := e.Z[i]
		if e.HasW() {
			row = append(append([]float64{}, row...), e.W[i]...)
		}
		for _, v := range row {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, v, 'g', 8, 32)
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	return nil
}
