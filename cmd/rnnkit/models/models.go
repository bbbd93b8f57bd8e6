// Package models holds rnnkit's default models (see README.md here and
// docs/MODELS.md), embedded for the command-line programs only:
// cmd/rnnkit and cmd/rnnkit-beam import it, the library packages never do,
// so `import "github.com/rnnkit/rnnkit/sentiment"` stays small.
package models

import "embed"

// FS holds KIND.safetensors for each default model: charrnn, sentiment,
// seq2seq (English to Spanish) and seq2seq-es-en.
//
//go:embed *.safetensors
var FS embed.FS

// CharRNN lists the files (names without .safetensors) of the default
// character model, the one that rnnkit generate, eval charrnn and serve run
// without --model. One file is a single model. Several are an ensemble
// that averages the models' next-character probabilities, the first being
// the main model: they must have the same tokenizer (trained on the same
// text), and adding a file here with the file itself is all it takes.
// rnnkit models lists each file and export charrnn writes each.
var CharRNN = []string{"charrnn", "charrnn-2"}

// EnEs and EsEn list the files of the default translators, English to
// Spanish and Spanish to English, as CharRNN does for the character model:
// one file is a single model; several are an ensemble that averages the
// models' next-token log-probabilities, the first being the main model
// (which --back-weight re-ranks with). They must have the same tokenizers,
// as models trained with one --split-seed have.
var (
	EnEs = []string{"seq2seq", "seq2seq-2"}
	EsEn = []string{"seq2seq-es-en", "seq2seq-es-en-2"}
)
