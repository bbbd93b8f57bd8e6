package seq2seq_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Train a tiny translator on an invented language (the target is the
// source reversed, in capitals), then translate with it. A real model is
// loaded with seq2seq.Load("en-es.safetensors").
func Example() {
	words := strings.Fields("ka lo mi nu pe ra")
	r := rand.New(rand.NewPCG(1, 2))
	var pairs []seq2seq.Pair
	for i := 0; i < 1200; i++ {
		var s, t []string
		for j := 0; j < 2+r.IntN(3); j++ {
			s = append(s, words[r.IntN(len(words))])
		}
		for j := len(s) - 1; j >= 0; j-- {
			t = append(t, strings.ToUpper(s[j]))
		}
		pairs = append(pairs, seq2seq.Pair{Source: strings.Join(s, " "), Target: strings.Join(t, " ")})
	}
	srcTok, _ := tokenize.TrainWord(strings.NewReader(strings.Join(words, " ")), tokenize.WordOptions{})
	tgtTok, _ := tokenize.TrainWord(strings.NewReader(strings.ToUpper(strings.Join(words, " "))), tokenize.WordOptions{})
	m, err := seq2seq.New(seq2seq.Config{Cell: rnn.GRU, Embedding: 16, EncHidden: 32, DecHidden: 32}, srcTok, tgtTok)
	if err != nil {
		panic(err)
	}
	m.Init(rand.New(rand.NewPCG(3, 4)))
	opt := seq2seq.DefaultTrainOptions()
	opt.Epochs, opt.Batch, opt.LR, opt.Warmup, opt.ValFrac = 5, 32, 1e-2, 20, 0.1
	res, err := seq2seq.Train(context.Background(), m, pairs, opt, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("validation BLEU above 90: %v\n", res.BestBLEU > 90)
	trs, err := m.Translate(context.Background(), []string{"ka lo mi", "pe nu"}, seq2seq.TranslateOptions{Beam: 3})
	if err != nil {
		panic(err)
	}
	for _, t := range trs {
		fmt.Println(t.Text)
	}
	// Output:
	// validation BLEU above 90: true
	// MI LO KA
	// NU PE
}
