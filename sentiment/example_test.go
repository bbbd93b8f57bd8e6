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
	"github.com/rnnkit/rnnkit/tokenize"
)

// Train a tiny classifier on invented reviews, save it, load it back and
// classify new text.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	filler := strings.Fields("the film plot was and it a story of actors")
	var ex []sentiment.Example
	for i := 0; i < 400; i++ {
		label := i % 2
		word := []string{"awful", "great"}[label]
		words := []string{filler[rng.IntN(10)], filler[rng.IntN(10)], word, filler[rng.IntN(10)]}
		rng.Shuffle(len(words), func(a, b int) { words[a], words[b] = words[b], words[a] })
		ex = append(ex, sentiment.Example{Text: strings.Join(words, " "), Label: label})
	}
	var corpus strings.Builder
	for _, e := range ex {
		corpus.WriteString(e.Text + "\n")
	}
	tok, _ := tokenize.TrainWord(strings.NewReader(corpus.String()), tokenize.WordOptions{Lowercase: true, SplitPunct: true})
	m, _ := sentiment.New(sentiment.Config{Cell: rnn.LSTM, Embedding: 8, Hidden: 8, Bidirectional: true,
		Pooling: "max", Labels: []string{"negative", "positive"}}, tok)
	m.Init(rand.New(rand.NewPCG(3, 4)))
	train, val := sentiment.SplitExamples(ex, 0.25, 1)
	opt := sentiment.DefaultTrainOptions()
	opt.Batch, opt.Epochs, opt.LR, opt.Warmup = 16, 5, 1e-2, 10
	res, err := sentiment.Train(context.Background(), m, sentiment.Data{Train: train, Val: val}, opt, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("validation accuracy %.2f\n", res.BestValAcc)

	path := filepath.Join(os.TempDir(), "sentiment-example.safetensors")
	defer os.Remove(path)
	if err := m.Save(path, rnn.F16); err != nil {
		panic(err)
	}
	loaded, err := sentiment.Load(path)
	if err != nil {
		panic(err)
	}
	p := loaded.Predict("The story was GREAT.")
	fmt.Println(p.Label, p.Probability > 0.9)
	// Output:
	// validation accuracy 1.00
	// positive true
}
