package sentiment_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
)

// What `rnnkit train sentiment --data reviews.tsv --out model.safetensors`
// does, in a few lines: read the labelled reviews, choose the classes (neg
// and pos read as negative and positive) and hold out the last tenth of
// each class for validation, minus the reviews next to it (Prepare), learn
// the tokenizer from the training reviews, build and train the default
// classifier and save the best weights. The sizes are cut down here so that
// the example runs in a second; the command uses DefaultConfig,
// DefaultTrainOptions and DefaultTokenizerOptions as they are.
func ExamplePrepare() {
	dir, _ := os.MkdirTemp("", "sentiment-prepare")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "reviews.tsv")
	rng := rand.New(rand.NewPCG(1, 2))
	filler := strings.Fields("the film plot was and it a story of actors")
	var tsv strings.Builder
	for i := 0; i < 400; i++ {
		label := []string{"neg", "pos"}[i%2]
		word := map[string]string{"neg": "awful", "pos": "great"}[label]
		fmt.Fprintf(&tsv, "%s %s %s %s\t%s\n", filler[rng.IntN(10)], word, filler[rng.IntN(10)], filler[rng.IntN(10)], label)
	}
	os.WriteFile(path, []byte(tsv.String()), 0o644)

	raw, _, err := sentiment.ReadExamples(path, sentiment.ReadOptions{})
	if err != nil {
		panic(err)
	}
	prep, err := sentiment.Prepare([]sentiment.Part{{Name: path, Examples: raw}}, nil, sentiment.DefaultPrepareOptions())
	if err != nil {
		panic(err)
	}
	tokOpt := sentiment.DefaultTokenizerOptions()
	tokOpt.MinFreq = 1
	tok, err := sentiment.TrainTokenizer(sentiment.Texts(prep.Data.Train), tokOpt)
	if err != nil {
		panic(err)
	}
	cfg := sentiment.DefaultConfig(tok.VocabSize())
	cfg.Cell, cfg.Labels = rnn.LSTM, prep.Labels // the command's --cell default
	cfg.Embedding, cfg.Hidden = 8, 8
	m, err := sentiment.New(cfg, tok)
	if err != nil {
		panic(err)
	}
	opt := sentiment.DefaultTrainOptions()
	m.Init(rand.New(rand.NewPCG(opt.Seed, 0x696e6974)))
	opt.Batch, opt.Epochs, opt.LR, opt.Warmup = 16, 3, 1e-2, 10
	opt.BestPath = filepath.Join(dir, "model.safetensors")
	res, err := sentiment.Train(context.Background(), m, prep.Data, opt, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("classes:", strings.Join(prep.Labels, ", "))
	fmt.Println("training and validation reviews:", len(prep.Data.Train), len(prep.Data.Val))
	fmt.Println("validation accuracy above 0.9:", res.BestValAcc > 0.9)
	// Output:
	// classes: negative, positive
	// training and validation reviews: 324 40
	// validation accuracy above 0.9: true
}
