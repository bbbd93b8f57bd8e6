package main

import "github.com/spf13/cobra"

// addSeq2seqCommands registers the seq2seq commands: train seq2seq, eval seq2seq, and the inference command.
func addSeq2seqCommands(root, train, eval *cobra.Command, g *globalOptions) {}
