package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/corpora"
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

// wantInt8 reports whether a checked --quantize value makes the model from
// source (a file, "embedded:models/NAME.safetensors" or "" for the
// embedded default of kind) run int8 arithmetic.
func wantInt8(mode, source, kind string) bool {
	return mode == "int8" || (mode == "auto" && storedInt8(source, kind))
}

// quantizingLoader returns a loader of model files that quantizes as
// mode (a checked --quantize value) says, with the application's
// LoadQuantized for those to run int8 (an int8 file's weights are taken
// as stored, not quantized again), and plain Load for the others.
func quantizingLoader[M any](mode, kind string, plain, quantized func(string) (M, error)) func(string) (M, error) {
	return func(path string) (M, error) {
		if wantInt8(mode, path, kind) {
			return quantized(path)
		}
		return plain(path)
	}
}

// quantizingBytesLoader is quantizingLoader for files held in memory (the
// embedded defaults).
func quantizingBytesLoader[M any](mode string, plain, quantized func(string, []byte) (M, error)) func(string, []byte) (M, error) {
	return func(name string, data []byte) (M, error) {
		if mode == "int8" || (mode == "auto" && rnn.StoresQ8(bytes.NewReader(data), int64(len(data)))) {
			return quantized(name, data)
		}
		return plain(name, data)
	}
}

// storedInt8 reports whether the model file at source (as for wantInt8)
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
		// Not a named pipe, whose open would block: the load that follows
		// refuses it with the error.
		if corpora.CheckRegular(source) != nil {
			return false
		}
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
