package seq2seq

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

func TestTidyPunct(t *testing.T) {
	for in, want := range map[string]string{
		"Por favor,.":          "Por favor.",
		"¡Hola, amigo,!":       "¡Hola, amigo!",
		"¿Vienes, ?":           "¿Vienes?",
		"Sí, claro.":           "Sí, claro.",
		"1,5 kilos.":           "1,5 kilos.",
		"Bueno, pues... vale.": "Bueno, pues... vale.",
		"¡ Buena suerte!":      "¡Buena suerte!",
		"Dime: ¿ qué pasa?":    "Dime: ¿qué pasa?",
	} {
		assert.Equal(t, want, tidyPunct(in), in)
	}
}

// TestBestLogProbMatchesLogSoftmax: the greedy decoder's choice from raw
// logits is bestOutput over rnn.LogSoftmax's output, token and
// log-probability bit for bit, also when distinct logits round to the same
// log-probability (then the first of them wins in both) and when the
// largest logit sits on a token that may not be output.
func TestBestLogProbMatchesLogSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const V = 300
	for trial := 0; trial < 2000; trial++ {
		z := make([]float32, V)
		for i := range z {
			z[i] = float32(rng.NormFloat64() * 3)
		}
		switch trial % 4 {
		case 1: // near-ties that log-softmax rounds together: small
			// logits (fine steps) against a log-sum-exp of about log V
			// (coarse steps), the largest last and a few ulps below it
			// earlier
			for i := range z {
				z[i] = float32(rng.NormFloat64() * 0.01)
			}
			z[V-1] = 0.1
			for k := 0; k < 3; k++ {
				z[4+rng.IntN(V-5)] = 0.1 - float32(1+rng.IntN(8))*7.5e-9
			}
		case 2: // the largest logit on <pad> or <s>
			z[tokenize.Pad], z[tokenize.BOS] = 50, 49
		case 3: // exact ties
			z[5], z[9] = 30, 30
		}
		lp := make([]float32, V)
		rnn.LogSoftmax(lp, z, 1, V)
		want := bestOutput(lp)
		got, glp := bestLogProb(z, rnn.LogSumExp(z))
		if got != want || math.Float32bits(glp) != math.Float32bits(lp[want]) {
			t.Fatalf("trial %d: token %d (log p %v), LogSoftmax gives %d (%v)", trial, got, glp, want, lp[want])
		}
	}
}
