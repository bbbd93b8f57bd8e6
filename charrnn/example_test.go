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
