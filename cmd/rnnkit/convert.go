package main

import (
	"fmt"
	"os"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/spf13/cobra"
)

func newConvertCmd() *cobra.Command {
	var dtype string
	c := &cobra.Command{
		Use:   "convert MODEL OUT --dtype int8|f16|f32",
		Short: "Rewrite a model file in another storage type",
		Long: `Load MODEL (any kind: charrnn, sentiment, seq2seq or lm), check it as every
command does, and write it to OUT, atomically, with its weights stored as
--dtype: f32, f16 (half the size of f32) or int8 (each weight matrix as int8
with one float32 scale per row, about half of f16; biases and small tensors
stay f16). Tokenizers, configuration and metadata are kept. Every command and
python/rnnkit_torch.py read all three. docs/FORMAT.md gives the error bound
of int8 and docs/MODELS.md what it costs the default models.`,
		Example: `  rnnkit models export seq2seq en-es.safetensors
  rnnkit convert en-es.safetensors en-es-int8.safetensors --dtype int8
  rnnkit translate --model en-es-int8.safetensors "Good morning."`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			dt, err := parseDType(dtype)
			if err != nil {
				return err
			}
			in, out := args[0], args[1]
			if err := checkModelFile(in); err != nil {
				return err
			}
			if st, err := os.Stat(out); err == nil && st.IsDir() {
				return usagef("%s is a directory; give the file to write", out)
			}
			_, meta, err := rnn.ReadHeader(in)
			if err != nil {
				return err
			}
			var save func(string, rnn.DType) error
			switch kind := meta[rnn.MetaKind]; kind {
			case charrnn.Kind:
				m, err := charrnn.Load(in)
				if err != nil {
					return err
				}
				save = m.Save
			case sentiment.Kind:
				m, err := sentiment.Load(in)
				if err != nil {
					return err
				}
				save = m.Save
			case sentiment.LMKind:
				m, err := sentiment.LoadLM(in)
				if err != nil {
					return err
				}
				save = m.Save
			case seq2seq.Kind:
				m, err := seq2seq.Load(in)
				if err != nil {
					return err
				}
				save = m.Save
			default:
				return fmt.Errorf("model file %s: kind %q is not one rnnkit converts (charrnn, sentiment, seq2seq, lm); is it a checkpoint? convert the model file it belongs to", in, kind)
			}
			if err := save(out, dt); err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s (%s, %.1f MB)\n", out, dtype, float64(st.Size())/1e6)
			return nil
		},
	}
	c.Flags().StringVar(&dtype, "dtype", "", "storage type of OUT: f32, f16 or int8 (required)")
	_ = c.MarkFlagRequired("dtype")
	return c
}
