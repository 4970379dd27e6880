// Command csvae-gpu trains Conditional Subspace VAEs and their baselines,
// encodes data with them and measures what they learned.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:  "csvae-gpu",
		Usage: "train and use Conditional Subspace VAEs (Klys, Snell, Zemel 2018) and their baselines",
		Description: "Models: vae, condvae, condvae-info, csvae-noadv, csvae.\n" +
			"Data: swissroll (the toy experiment of the paper), synth (built-in procedural faces),\n" +
			"celeba (CelebA in its published layout, or a cache written by prepare).",
		Commands: []*cli.Command{trainCommand(), encodeCommand(), evalCommand(), synthCommand(), prepareCommand(),
			sampleCommand(), reconstructCommand(), benchCommand(), selftestCommand(), summaryCommand()},
		HideHelpCommand: true,
		// One line for a bad flag, not the whole help text.
		OnUsageError:   func(_ *cli.Context, err error, _ bool) error { return err },
		ExitErrHandler: func(*cli.Context, error) {},
	}
	app.Commands = append(app.Commands, experimentCommands()...) // classifier, manipulate, traverse, interpolate
	for _, c := range app.Commands {
		c.OnUsageError = app.OnUsageError
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "csvae-gpu: %v\n", err)
		os.Exit(1)
	}
}
