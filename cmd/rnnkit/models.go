package main

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/spf13/cobra"
)

// defaultModels holds the default models. Only the CLI embeds them, so
// importing rnnkit's library packages never pulls the weights in.
//
//go:embed models
var defaultModels embed.FS

// defaultModel returns the embedded default model file for an application
// ("charrnn", "sentiment", "seq2seq").
func defaultModel(kind string) (name string, data []byte, err error) {
	name = "models/" + kind + ".safetensors"
	data, err = defaultModels.ReadFile(name)
	if err != nil {
		return "", nil, fmt.Errorf("this rnnkit build has no default %s model; pass --model FILE (train one with `rnnkit train %s`)", kind, kind)
	}
	return "embedded:" + name, data, nil
}

// loadModel loads the model file at path, or the embedded default model of
// kind when path is empty; every inference command takes --model this way.
func loadModel[M any](path, kind string, load func(string) (M, error), loadBytes func(string, []byte) (M, error)) (M, error) {
	if path != "" {
		return load(path)
	}
	name, data, err := defaultModel(kind)
	if err != nil {
		var zero M
		return zero, err
	}
	return loadBytes(name, data)
}

type modelListing struct {
	Name    string            `json:"name"`
	Kind    string            `json:"kind"`
	Command string            `json:"command"`
	Size    int               `json:"bytes"`
	Quality map[string]string `json:"quality,omitempty"`
	Trained string            `json:"trained_on,omitempty"`
}

var commandOf = map[string]string{"charrnn": "generate", "sentiment": "classify", "seq2seq": "translate"}

func newModelsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "models",
		Short: "List the default models embedded in this binary, with their measured quality",
		Long: `List the default models embedded in this binary. Each was trained by rnnkit
on a public corpus; the quality figures were measured on held-out data when the
model was trained (see docs/MODELS.md for the exact commands).`,
		Example: `  rnnkit models
  rnnkit models --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			entries, err := fs.Glob(defaultModels, "models/*.safetensors")
			if err != nil {
				return err
			}
			sort.Strings(entries)
			for _, e := range entries {
				data, _ := defaultModels.ReadFile(e)
				info, _, err := rnn.LoadModelBytes(e, data, "")
				if err != nil {
					return err
				}
				l := modelListing{Name: strings.TrimSuffix(strings.TrimPrefix(e, "models/"), ".safetensors"), Kind: info.Kind,
					Command: commandOf[info.Kind], Size: len(data), Trained: info.Meta["trained_on"], Quality: map[string]string{}}
				for k, v := range info.Meta {
					if strings.HasPrefix(k, "quality.") {
						l.Quality[strings.TrimPrefix(k, "quality.")] = v
					}
				}
				if asJSON {
					if err := writeJSON(c, l); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(c.OutOrStdout(), "%-10s %-9s (%s, %.1f MB)  trained on %s\n", l.Name, l.Command, l.Kind, float64(l.Size)/1e6, l.Trained)
				keys := make([]string, 0, len(l.Quality))
				for k := range l.Quality {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(c.OutOrStdout(), "    %s: %s\n", k, l.Quality[k])
				}
			}
			if len(entries) == 0 && !asJSON {
				fmt.Fprintln(c.OutOrStdout(), "no default models are embedded in this build")
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per model")
	return c
}
