package main

import "github.com/spf13/cobra"

// addTokenizerCommands registers the "tokenizer" commands.
func addTokenizerCommands(root *cobra.Command, g *globalOptions) {}
