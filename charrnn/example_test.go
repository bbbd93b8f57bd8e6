package charrnn_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Train a tiny character model on a string and sample from it.
func Example() {
	text := strings.Repeat("hello world\n", 400)
	tok, _ := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
	m, _ := charrnn.New(charrnn.Config{Cell: rnn.LSTM, Embedding: 8, Hidden: 32, Layers: 1}, tok)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	opt := charrnn.DefaultTrainOptions()
	opt.SeqLen, opt.Batch, opt.Epochs, opt.LR = 24, 4, 8, 1e-2
	_, err := charrnn.Train(context.Background(), m, text, opt, nil)
	if err != nil {
		panic(err)
	}
	var out strings.Builder
	m.Generate(context.Background(), "hel", charrnn.SampleOptions{N: 20, Greedy: true}, func(s string) error {
		out.WriteString(s)
		return nil
	})
	fmt.Printf("%q\n", "hel"+out.String())
	// Output: "hello world\nhello world"
}

// Average two models trained on the same text: the ensemble samples from,
// and scores with, the mean of their next-character probabilities.
func ExampleNewEnsemble() {
	text := strings.Repeat("hello world\n", 400)
	tok, _ := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
	var models []*charrnn.Model
	for i, cell := range []rnn.Cell{rnn.LSTM, rnn.GRU} {
		m, _ := charrnn.New(charrnn.Config{Cell: cell, Embedding: 8, Hidden: 32, Layers: 1}, tok)
		m.Init(rand.New(rand.NewPCG(uint64(i), 2)))
		opt := charrnn.DefaultTrainOptions()
		opt.SeqLen, opt.Batch, opt.Epochs, opt.LR = 24, 4, 4, 1e-2
		if _, err := charrnn.Train(context.Background(), m, text, opt, nil); err != nil {
			panic(err)
		}
		models = append(models, m)
	}
	e, err := charrnn.NewEnsemble(models...) // the same tokenizer, or an error saying how they differ
	if err != nil {
		panic(err)
	}
	var out strings.Builder
	e.Generate(context.Background(), "hel", charrnn.SampleOptions{N: 20, Greedy: true}, func(s string) error {
		out.WriteString(s)
		return nil
	})
	fmt.Printf("%q\n", "hel"+out.String())
	mix, _ := e.Evaluate(text)
	a, _ := models[0].Evaluate(text)
	b, _ := models[1].Evaluate(text)
	fmt.Println(mix.Loss <= (a.Loss+b.Loss)/2)
	// Output:
	// "hello world\nhello world"
	// true
}
