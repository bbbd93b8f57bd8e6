package main

import "github.com/spf13/cobra"

func addCharRNNCommands(root, train, eval *cobra.Command, g *globalOptions) {}
