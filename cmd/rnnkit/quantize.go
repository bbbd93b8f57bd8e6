package main

import (
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/rnn"
)

// quantizeHelp is the help of --quantize on every inference command.
const quantizeHelp = "arithmetic at load: int8 (per-channel int8 weights, int32 sums, as PyTorch's quantize_dynamic: faster), none (float), or auto: int8 for a model stored as int8 (rnnkit convert --dtype int8, as the default generate models are), none otherwise"

// addQuantizeFlag registers --quantize on c, its value going to p.
func addQuantizeFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "quantize", "auto", quantizeHelp)
}

// checkQuantize validates a --quantize value before any model is loaded.
func checkQuantize(mode string) error {
	switch mode {
	case "", "auto", "none", "int8":
		return nil
	}
	return usagef("--quantize must be auto, int8 or none, got %q", mode)
}

// quantize applies a checked --quantize value to a model loaded from
// source: a file, "embedded:models/NAME.safetensors" or "" for the embedded
// default of kind.
func quantize(m interface{ Quantize() }, mode, source, kind string) {
	if mode == "int8" || (mode == "auto" && storedInt8(source, kind)) {
		m.Quantize()
	}
}

// storedInt8 reports whether the model file at source (as for quantize)
// stores its weight matrices as int8. Unreadable files report false: the
// load has already succeeded or failed on its own terms.
func storedInt8(source, kind string) bool {
	var f fs.File
	var err error
	switch {
	case source == "":
		f, err = models.FS.Open(kind + ".safetensors")
	case strings.HasPrefix(source, "embedded:models/"):
		f, err = models.FS.Open(strings.TrimPrefix(source, "embedded:models/"))
	default:
		f, err = os.Open(source)
	}
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	r, ok := f.(io.ReaderAt) // an embedded file is one too: its header is read in place
	if err != nil || !ok {
		return false
	}
	return rnn.StoresQ8(r, st.Size())
}
