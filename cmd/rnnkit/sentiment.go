package main

import "github.com/spf13/cobra"

// addSentimentCommands registers the sentiment commands: train sentiment, eval sentiment, and the inference command.
func addSentimentCommands(root, train, eval *cobra.Command, g *globalOptions) {}
