package sentiment_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rnnkit/rnnkit/sentiment"
)

// What `rnnkit train lm --data unsup.txt --out lm.safetensors` does, in a
// few lines: read the documents (one a line in the file, ReadDocs), hold
// out a seeded share of them for validation (LMData.Add), learn the
// tokenizer from the training documents as train sentiment does, build the LM of the default classifier's
// encoder (a forward and a backward LM sharing the embedding), initialise
// it from the seed, train it (the best model by validation perplexity is
// written to BestPath whenever it improves) and load the result, which
// `rnnkit train sentiment --init-lm` (NewFromLM) starts a classifier from.
// The sizes are cut down here so that the example runs in a fraction of a
// second; the command uses DefaultTokenizerOptions, DefaultLMConfig and
// DefaultLMTrainOptions as they are, and holds out 1% of the documents.
func ExampleTrainLM() {
	dir, _ := os.MkdirTemp("", "sentiment-lm")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "lm.safetensors")
	rng := rand.New(rand.NewPCG(1, 2))
	var unsup strings.Builder // unsup.txt: one document a line
	for range 300 {
		fmt.Fprintf(&unsup, "the %s was %s\n",
			[]string{"film", "plot", "cast"}[rng.IntN(3)], []string{"great", "awful", "fine"}[rng.IntN(3)])
	}
	unsupPath := filepath.Join(dir, "unsup.txt")
	if err := os.WriteFile(unsupPath, []byte(unsup.String()), 0o644); err != nil {
		panic(err)
	}

	docs, _, err := sentiment.ReadDocs(unsupPath, sentiment.DocOptions{}) // --format, --text-col, --limit
	if err != nil {
		panic(err)
	}
	var data sentiment.LMData
	data.Add(docs, 0.1, 1) // --val-frac, --split-seed; once per --data file
	tok, err := sentiment.TrainTokenizer(data.Train, sentiment.DefaultTokenizerOptions())
	if err != nil {
		panic(err)
	}
	cfg := sentiment.DefaultLMConfig(tok.VocabSize())
	cfg.Embedding, cfg.Hidden = 8, 16
	m, err := sentiment.NewLM(cfg, tok)
	if err != nil {
		panic(err)
	}
	opt := sentiment.DefaultLMTrainOptions()
	m.Init(rand.New(rand.NewPCG(opt.Seed, 0x696e6974))) // the command's initialisation stream
	opt.SeqLen, opt.Batch, opt.Samples, opt.Epochs, opt.LR, opt.Warmup = 8, 8, 4, 3, 2e-2, 10
	opt.BestPath = out
	res, err := sentiment.TrainLM(context.Background(), m, data, opt, nil)
	if err != nil {
		panic(err)
	}

	lm, err := sentiment.LoadLM(out)
	if err != nil {
		panic(err)
	}
	argmax := func(p []float32) string { return lm.Tok.Token(int32(slices.Index(p, slices.Max(p)))) }
	fmt.Println("documents:", len(data.Train), "training,", len(data.Val), "validation")
	fmt.Println("vocabulary:", lm.Config.Vocab, "bidirectional:", lm.Config.Bidirectional)
	fmt.Println("validation perplexity below 3:", res.BestVal.Perplexity < 3)
	fmt.Println("after \"the film\":", argmax(lm.PredictNext(lm.Tok.Encode("the film"))))
	fmt.Println("before \"film was great\":", argmax(lm.PredictPrev(lm.Tok.Encode("film was great"))))
	// Output:
	// documents: 270 training, 30 validation
	// vocabulary: 12 bidirectional: true
	// validation perplexity below 3: true
	// after "the film": was
	// before "film was great": the
}
