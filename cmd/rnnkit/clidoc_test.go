package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite docs/CLI.md from the command tree")

// cliMarkdown renders the whole command tree as Markdown: every command's
// help text, examples and flags, exactly as `rnnkit CMD --help` shows them.
func cliMarkdown(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("# rnnkit command reference\n\n")
	b.WriteString("Generated from the command tree by `go test ./cmd/rnnkit -run TestCLIDoc -update`; do not edit by hand.\n\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || strings.HasPrefix(c.CommandPath(), "rnnkit completion ") {
			return
		}
		var out bytes.Buffer
		c.SetOut(&out)
		c.SetErr(&out)
		_ = c.Help()
		fmt.Fprintf(&b, "## %s\n\n```text\n%s```\n\n", c.CommandPath(), out.String())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return b.String()
}

// TestCLIDoc checks that docs/CLI.md matches the command tree, and that every
// runnable command has a Short description and examples.
func TestCLIDoc(t *testing.T) {
	root := NewRootCmd()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var check func(c *cobra.Command)
	check = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%s has no Short description", c.CommandPath())
		}
		if c.Runnable() && c.Example == "" && c.HasParent() && c.Parent().Name() != "completion" && c.Name() != "help" && c.Name() != "version" && c.Name() != "train" && c.Name() != "eval" {
			t.Errorf("%s has no examples", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			check(sub)
		}
	}
	check(root)
	got := cliMarkdown(root)
	const path = "../../docs/CLI.md"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Fatalf("docs/CLI.md is out of date with the commands; run: go test ./cmd/rnnkit -run TestCLIDoc -update")
	}
}
