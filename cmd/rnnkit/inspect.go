package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/spf13/cobra"
)

// inspectReport is rnnkit inspect --json.
type inspectReport struct {
	File          string                    `json:"file"`
	Bytes         int64                     `json:"bytes"`
	Kind          string                    `json:"kind"`
	FormatVersion string                    `json:"format_version"`
	Config        json.RawMessage           `json:"config"`
	Tokenizers    map[string]tokenizerBrief `json:"tokenizers"`
	Parameters    int64                     `json:"parameters"`
	Tensors       []rnn.TensorInfo          `json:"tensors"`
	Checkpoint    *checkpointBrief          `json:"checkpoint"`
	Metadata      map[string]string         `json:"metadata"`
}

// tokenizerBrief describes a tokenizer of the file instead of printing its
// tokenizer.json.
type tokenizerBrief struct {
	Type  string `json:"type"`
	Vocab int    `json:"vocab"`
	Bytes int    `json:"bytes"`
	Error string `json:"error,omitempty"`
}

// checkpointBrief is the training state of a checkpoint (its train.* keys).
type checkpointBrief struct {
	Step     string            `json:"step"`
	BestStep string            `json:"best_step"`
	Best     map[string]string `json:"best_metrics"`
	History  int               `json:"history_points"`
}

func newInspectCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Describe a model file or checkpoint: kind, config, tokenizers, tensors, metadata",
		Long: `Describe a model file or training checkpoint (or any safetensors file) without
loading its weights: its kind and format version, its config, its tokenizers
(type and vocabulary size), every tensor with its dtype and shape, the
training state of a checkpoint (step, best step and metrics, the number of
evaluations in its history) and the rest of its metadata (training data,
licence, quality figures, ...). FILE may also name an embedded default model
("rnnkit models" lists them).

--json prints one JSON object: file, bytes, kind, format_version, config (an
object), tokenizers (by name: type, vocab, bytes), parameters (the number of
model weights, optimizer state excluded), tensors (name, dtype, shape),
checkpoint (null for a model file) and metadata (every other key, in full).`,
		Example: `  rnnkit inspect my.safetensors
  rnnkit inspect my.safetensors.ckpt --json | jq .checkpoint
  rnnkit inspect seq2seq`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			r, err := inspectFile(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c, r)
			}
			printInspect(c, r)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

func inspectFile(path string) (*inspectReport, error) {
	var ts []rnn.TensorInfo
	var meta map[string]string
	var size int64
	_, statErr := os.Stat(path)
	names, files, _ := embeddedModels()
	if data, ok := files[path]; ok && os.IsNotExist(statErr) {
		var err error
		ts, meta, err = rnn.ReadHeaderBytes("embedded:models/"+path+".safetensors", data)
		if err != nil {
			return nil, err
		}
		size = int64(len(data))
	} else {
		if err := checkModelFile(path); err != nil {
			return nil, err
		}
		var err error
		if ts, meta, err = rnn.ReadHeader(path); err != nil {
			if os.IsNotExist(statErr) && len(names) > 0 {
				return nil, fmt.Errorf("%v (the embedded models are %s)", err, strings.Join(names, ", "))
			}
			return nil, err
		}
		if st, err := os.Stat(path); err == nil {
			size = st.Size()
		}
	}
	r := &inspectReport{File: path, Bytes: size, Kind: meta[rnn.MetaKind], FormatVersion: meta[rnn.MetaFormatVersion],
		Config: json.RawMessage("null"), Tokenizers: map[string]tokenizerBrief{}, Tensors: ts, Metadata: map[string]string{}}
	if cfg := meta[rnn.MetaConfig]; json.Valid([]byte(cfg)) {
		r.Config = json.RawMessage(cfg)
	}
	for _, t := range ts {
		if strings.HasPrefix(t.Name, rnn.OptimPrefix) {
			continue
		}
		n := int64(1)
		for _, d := range t.Shape {
			n *= int64(d)
		}
		r.Parameters += n
	}
	var ck *checkpointBrief
	for k, v := range meta {
		switch {
		case k == rnn.MetaKind || k == rnn.MetaFormatVersion || k == rnn.MetaConfig:
		case k == "tokenizer" || strings.HasPrefix(k, "tokenizer."):
			b := tokenizerBrief{Bytes: len(v)}
			if tok, err := tokenize.Load([]byte(v)); err != nil {
				b.Error = err.Error()
			} else {
				b.Type, b.Vocab = tok.Kind(), tok.VocabSize()
			}
			r.Tokenizers[strings.TrimPrefix(strings.TrimPrefix(k, "tokenizer"), ".")] = b
		case strings.HasPrefix(k, "train."):
			if ck == nil {
				ck = &checkpointBrief{Best: map[string]string{}}
			}
			switch {
			case k == "train.step":
				ck.Step = v
			case k == "train.best_step":
				ck.BestStep = v
			case strings.HasPrefix(k, "train.metric."):
				ck.Best[strings.TrimPrefix(k, "train.metric.")] = v
			case k == rnn.MetaHistory:
				var h []json.RawMessage
				_ = json.Unmarshal([]byte(v), &h)
				ck.History = len(h)
			}
		default:
			r.Metadata[k] = v
		}
	}
	r.Checkpoint = ck
	return r, nil
}

func printInspect(c *cobra.Command, r *inspectReport) {
	w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	kind := r.Kind
	if kind == "" {
		kind = "none (a safetensors file, not an rnnkit model)"
	} else if r.FormatVersion != "" {
		kind += " (format version " + r.FormatVersion + ")"
	}
	fmt.Fprintf(w, "file:\t%s (%s)\n", r.File, corporaBytes(r.Bytes))
	fmt.Fprintf(w, "kind:\t%s\n", kind)
	if string(r.Config) != "null" {
		fmt.Fprintf(w, "config:\t%s\n", r.Config)
	}
	for _, name := range sortedKeysOf(r.Tokenizers) {
		b := r.Tokenizers[name]
		label := "tokenizer"
		if name != "" {
			label += " " + name
		}
		if b.Error != "" {
			fmt.Fprintf(w, "%s:\tunreadable: %s\n", label, b.Error)
		} else {
			fmt.Fprintf(w, "%s:\t%s, %d tokens\n", label, b.Type, b.Vocab)
		}
	}
	if ck := r.Checkpoint; ck != nil {
		var best []string
		for _, k := range sortedKeysOf(ck.Best) {
			best = append(best, k+" "+ck.Best[k])
		}
		fmt.Fprintf(w, "checkpoint:\tafter step %s; best at step %s (%s); %d evaluations in its history\n", ck.Step, ck.BestStep, strings.Join(best, ", "), ck.History)
	}
	w.Flush()
	fmt.Fprintf(c.OutOrStdout(), "tensors (%d, %d parameters):\n", len(r.Tensors), r.Parameters)
	for _, t := range r.Tensors {
		dims := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(w, "  %s\t%s\t[%s]\n", t.Name, t.DType, strings.Join(dims, ", "))
	}
	w.Flush()
	if len(r.Metadata) > 0 {
		fmt.Fprintln(c.OutOrStdout(), "metadata:")
		for _, k := range sortedKeysOf(r.Metadata) {
			v := strings.ReplaceAll(r.Metadata[k], "\n", `\n`)
			if n := len([]rune(v)); n > 200 {
				v = string([]rune(v)[:200]) + fmt.Sprintf("... (%d bytes; --json has it all)", len(r.Metadata[k]))
			}
			fmt.Fprintf(w, "  %s:\t%s\n", k, v)
		}
		w.Flush()
	}
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
