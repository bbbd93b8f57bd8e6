package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/spf13/cobra"
)

// defaultModel returns the embedded default model file for an application
// ("charrnn", "sentiment", "seq2seq"); a missing one is a noDefaultError.
func defaultModel(kind string) (name string, data []byte, err error) {
	name = "models/" + kind + ".safetensors"
	data, err = models.FS.ReadFile(kind + ".safetensors")
	if err != nil {
		return "", nil, noDefaultError{kind}
	}
	return "embedded:" + name, data, nil
}

// noDefaultError is the error for a default model this build lacks.
type noDefaultError struct{ kind string }

func (e noDefaultError) Error() string {
	return fmt.Sprintf("this rnnkit build has no default %s model; pass --model FILE (train one with `rnnkit train %s`)", e.kind, e.kind)
}

// defaultCharRNN loads the embedded default character model: each file
// models.CharRNN lists (one model, or the members of an ensemble), with
// its name. The error is a noDefaultError when this build lacks a file.
func defaultCharRNN(quant string) ([]*charrnn.Model, []string, error) {
	if len(models.CharRNN) == 0 {
		return nil, nil, noDefaultError{charrnn.Kind}
	}
	return loadDefaultFiles(models.CharRNN, "the default charrnn model",
		quantizingBytesLoader(quant, charrnn.LoadBytes, charrnn.LoadBytesQuantized))
}

// loadDefaultFiles loads the embedded files of one default model (what
// names it in errors) with loadBytes, side by side (cold start). It
// returns the models and their names ("embedded:models/FILE.safetensors")
// in the order of files; a missing file is a noDefaultError, which for a
// file after the first also names the model it belongs to.
func loadDefaultFiles[M any](files []string, what string, loadBytes func(string, []byte) (M, error)) ([]M, []string, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	ms := make([]M, len(files))
	names := make([]string, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, file := range files {
		name, data, err := defaultModel(file)
		if err != nil {
			if i > 0 {
				err = fmt.Errorf("%w (%s.safetensors, a file of %s, is missing from cmd/rnnkit/models)", err, file, what)
			}
			return nil, nil, err
		}
		names[i] = name
		wg.Go(func() {
			ms[i], errs[i] = loadBytes(name, data)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return ms, names, nil
}

// loadGCPercent is the collector's setting while a model loads: loading is
// a burst of large allocations that all stay live, so a collection during
// it finds nothing to free, and fewer of them take a fifth off cold start
// (generate -n 1: 70 ms to 57 ms on 2 cores).
const loadGCPercent = 400

// loadModel loads the model file at path, or the embedded default model of
// kind when path is empty; every inference command takes --model this way.
func loadModel[M any](path, kind string, load func(string) (M, error), loadBytes func(string, []byte) (M, error)) (M, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
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
	Name         string            `json:"name"`
	Kind         string            `json:"kind"`
	Command      string            `json:"command"`
	Size         int               `json:"bytes"`
	Quality      map[string]string `json:"quality,omitempty"`
	Trained      string            `json:"trained_on,omitempty"`
	License      string            `json:"license,omitempty"`
	Attribution  string            `json:"attribution,omitempty"`
	TrainCommand string            `json:"train_command,omitempty"`
	// Ensemble lists the files of the default charrnn model when it is an
	// ensemble of several (models.CharRNN) and this file is one of them.
	Ensemble []string `json:"ensemble,omitempty"`
}

// defaultEnsembles are the lists of files of the defaults that may be
// ensembles, by the kind of the first file: the charrnn model and the two
// translators.
func defaultEnsembles() [][]string {
	return [][]string{models.CharRNN, models.EnEs, models.EsEn}
}

// ensembleOf is the files of the default model that file name is one of,
// when that model is an ensemble of several, for the listing of each.
func ensembleOf(name string) []string {
	for _, files := range defaultEnsembles() {
		if len(files) > 1 && slices.Contains(files, name) {
			return files
		}
	}
	return nil
}

var commandOf = map[string]string{"charrnn": "generate", "sentiment": "classify", "seq2seq": "translate"}

// embeddedModels lists the default models: their names and file contents.
func embeddedModels() ([]string, map[string][]byte, error) {
	entries, err := fs.Glob(models.FS, "*.safetensors")
	if err != nil {
		return nil, nil, err
	}
	for i := range entries {
		entries[i] = strings.TrimSuffix(entries[i], ".safetensors")
	}
	sort.Strings(entries) // by name: charrnn before charrnn-2
	var names []string
	files := map[string][]byte{}
	for _, name := range entries {
		e := name + ".safetensors"
		data, err := models.FS.ReadFile(e)
		if err != nil {
			return nil, nil, err
		}
		names = append(names, name)
		files[name] = data
	}
	return names, files, nil
}

func newModelsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "models",
		Short: "List the default models embedded in this binary, with their measured quality",
		Long: `List the default models embedded in this binary: where each comes from (its
training data, the data's licence and attribution, and the command that
trained it) and its measured quality. Each was trained by rnnkit on a public
corpus; the quality figures were measured on held-out data when the model was
trained (see docs/MODELS.md for the exact commands).

"rnnkit models export NAME FILE" writes one out as a model file, to inspect,
fine-tune or load in PyTorch. When a default model (the character model or
a translator) is an ensemble of several files, each is listed with
"ensemble:" naming them all.`,
		Example: `  rnnkit models
  rnnkit models --json
  rnnkit models export sentiment sentiment.safetensors`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			names, files, err := embeddedModels()
			if err != nil {
				return err
			}
			for _, name := range names {
				data := files[name]
				_, meta, err := rnn.ReadHeaderBytes("embedded:models/"+name+".safetensors", data) // the metadata only
				if err != nil {
					return err
				}
				kind := meta[rnn.MetaKind]
				l := modelListing{Name: name, Kind: kind, Command: commandOf[kind], Size: len(data), Trained: meta["trained_on"],
					License: rnn.MetaValue(meta, rnn.MetaLicense), Attribution: meta["attribution"],
					TrainCommand: rnn.MetaValue(meta, rnn.MetaTrainCommand), Quality: map[string]string{}, Ensemble: ensembleOf(name)}
				for k, v := range meta {
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
				w := c.OutOrStdout()
				fmt.Fprintf(w, "%-10s %-9s (%s, %.1f MB)  trained on %s\n", l.Name, l.Command, l.Kind, float64(l.Size)/1e6, l.Trained)
				for _, kv := range [][2]string{{"licence", l.License}, {"attribution", l.Attribution}, {"trained with", l.TrainCommand}} {
					if kv[1] != "" {
						fmt.Fprintf(w, "    %s: %s\n", kv[0], kv[1])
					}
				}
				if l.Ensemble != nil {
					what := "the default charrnn model, their next-character probabilities averaged"
					if kind == seq2seq.Kind {
						what = "one default translator, their next-token log-probabilities averaged"
					}
					fmt.Fprintf(w, "    ensemble: %s (%s)\n", strings.Join(l.Ensemble, " + "), what)
				}
				keys := make([]string, 0, len(l.Quality))
				for k := range l.Quality {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(w, "    %s: %s\n", k, l.Quality[k])
				}
			}
			if len(names) == 0 && !asJSON {
				fmt.Fprintln(c.OutOrStdout(), "no default models are embedded in this build")
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per model")
	c.AddCommand(newModelsExportCmd())
	return c
}

func newModelsExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export NAME FILE",
		Short: "Write an embedded default model to a file",
		Long: `Write the embedded default model NAME (as "rnnkit models" lists them) to FILE,
byte for byte, atomically: FILE is either left as it was or holds the whole
model. The file works with --model, "rnnkit inspect" and PyTorch.

When a default model is an ensemble of several files (the charrnn model,
or a translator: models.CharRNN, models.EnEs, models.EsEn), exporting its
first file writes each of them: the first to FILE, the others to FILE with
-2, -3, ... before its extension, and prints the generate or translate
command that runs them together as the default does.`,
		Example: `  rnnkit models export charrnn shakespeare.safetensors
  rnnkit generate --model shakespeare.safetensors --seed "ROMEO:"`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			names, files, err := embeddedModels()
			if err != nil {
				return err
			}
			members := []string{args[0]}
			for _, files := range defaultEnsembles() {
				if len(files) > 1 && files[0] == args[0] {
					members = files // the first file names the ensemble
				}
			}
			paths := make([]string, len(members))
			for i, name := range members {
				if _, ok := files[name]; !ok {
					return usagef("no embedded model %q; the embedded models are %s", name, strings.Join(names, ", "))
				}
				paths[i] = memberPath(args[1], i)
				if st, err := os.Stat(paths[i]); err == nil && st.IsDir() {
					return usagef("%s is a directory; give the file to write", paths[i])
				}
			}
			for i, name := range members {
				data := files[name]
				if err := rnn.WriteModelBytes(paths[i], data); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "wrote %s (%s, %.1f MB)\n", paths[i], name, float64(len(data))/1e6)
			}
			if len(paths) > 1 {
				cmd, what := "rnnkit generate --model "+paths[0], "the default charrnn model"
				if args[0] != charrnn.Kind {
					cmd, what = "rnnkit translate --model "+paths[0], "the default translator "+args[0]
				}
				for _, p := range paths[1:] {
					cmd += " --ensemble " + p
				}
				fmt.Fprintf(c.OutOrStdout(), "%s is their ensemble: %s\n", what, cmd)
			}
			return nil
		},
	}
}

// memberPath is where models export writes member i of an ensemble given
// FILE: FILE itself for the first, FILE with -2, -3, ... before its
// extension for the others.
func memberPath(file string, i int) string {
	if i == 0 {
		return file
	}
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "-" + strconv.Itoa(i+1) + ext
}
