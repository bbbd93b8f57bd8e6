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
