package main

import "github.com/spf13/cobra"

// addCorporaCommands registers the "corpora" commands.
func addCorporaCommands(root *cobra.Command, g *globalOptions) {}
