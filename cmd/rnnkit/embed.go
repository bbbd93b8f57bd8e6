package main

import "github.com/spf13/cobra"

// addEmbedCommands registers the "embed" commands.
func addEmbedCommands(root *cobra.Command, g *globalOptions) {}
