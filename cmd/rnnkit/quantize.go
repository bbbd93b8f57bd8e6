package main

import (
	"github.com/spf13/cobra"
)

// quantizeHelp is the help of --quantize on every inference command.
const quantizeHelp = "quantize the weights at load for faster inference: int8 (per-channel int8 weights, int32 sums, as PyTorch's quantize_dynamic; default: none)"

// addQuantizeFlag registers --quantize on c, its value going to p.
func addQuantizeFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "quantize", "none", quantizeHelp)
}

// checkQuantize validates a --quantize value before any model is loaded.
func checkQuantize(mode string) error {
	switch mode {
	case "", "none", "int8":
		return nil
	}
	return usagef("--quantize must be int8 or none, got %q", mode)
}

// quantize applies a checked --quantize value to a loaded model.
func quantize(m interface{ Quantize() }, mode string) {
	if mode == "int8" {
		m.Quantize()
	}
}
