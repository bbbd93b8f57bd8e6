package charrnn_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// What `rnnkit train charrnn --data input.txt --out model.safetensors`
// does, in a few lines: learn the rune vocabulary of the text, build the
// default model for it, initialise it from the seed, train it (the last
// tenth of the text is validation; the best model is written to BestPath
// whenever it improves) and load the result. The sizes are cut down here
// so that the example runs in a fraction of a second; the command uses
// DefaultConfig and DefaultTrainOptions as they are, and also writes a
// checkpoint (CheckpointPath, "model.safetensors.ckpt") for Resume.
func ExampleTrain() {
	dir, _ := os.MkdirTemp("", "charrnn-train")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "model.safetensors")
	text := strings.Repeat("abc abd\n", 300) // input.txt

	tok, err := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
	if err != nil {
		panic(err)
	}
	cfg := charrnn.DefaultConfig(tok.VocabSize())
	cfg.Embedding, cfg.Hidden, cfg.Layers = 8, 16, 1
	m, err := charrnn.New(cfg, tok)
	if err != nil {
		panic(err)
	}
	opt := charrnn.DefaultTrainOptions()
	m.Init(rand.New(rand.NewPCG(opt.Seed, 0x696e6974))) // the command's initialisation stream
	opt.SeqLen, opt.Batch, opt.Epochs, opt.LR, opt.Warmup = 16, 4, 3, 1e-2, 10
	opt.BestPath, opt.BestDType = out, rnn.F32 // --out, --dtype
	res, err := charrnn.Train(context.Background(), m, text, opt, nil)
	if err != nil {
		panic(err)
	}

	best, err := charrnn.Load(out)
	if err != nil {
		panic(err)
	}
	var gen strings.Builder
	err = best.Generate(context.Background(), "abc ab", charrnn.SampleOptions{N: 9, Greedy: true}, func(s string) error {
		gen.WriteString(s)
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("vocabulary:", best.Config.Vocab, "(abcd, space, newline and 4 specials)")
	fmt.Println("parameters:", best.Params.Len())
	fmt.Println("steps:", res.Steps)
	fmt.Println("best validation loss below 0.5 nats/char:", res.BestValLoss < 0.5)
	fmt.Printf("%q\n", "abc ab"+gen.String())
	// Output:
	// vocabulary: 10 (abcd, space, newline and 4 specials)
	// parameters: 1914
	// steps: 99
	// best validation loss below 0.5 nats/char: true
	// "abc abd\nabc abd"
}
