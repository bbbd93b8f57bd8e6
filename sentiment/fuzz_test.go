package sentiment

import (
	"math"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
)

// FuzzPredict feeds arbitrary bytes through the classify text path: Clean,
// the tokenizer, truncation and the network. It must never panic, and the
// probabilities must be finite and sum to 1.
func FuzzPredict(f *testing.F) {
	for _, s := range []string{"", " ", "good", "<br /><br />", "<pad><unk></s><s>", "caf\xe9 \xff\xfe bad",
		"\x00\x01\x02", "a<br", "great " + string(make([]byte, 300))} {
		f.Add(s)
	}
	ex := synth(40, 10, 1)
	m := tinyModel(f, synthTok(f, ex), rnn.LSTM, "max+mean+last+attention")
	m.Config.MaxLen = 50
	f.Fuzz(func(t *testing.T, text string) {
		p := m.Predict(text)
		var s float64
		for _, v := range p.Probs {
			if math.IsNaN(float64(v)) || v < 0 || v > 1 {
				t.Fatalf("probability %v for %q", v, text)
			}
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Fatalf("probabilities sum to %v for %q", s, text)
		}
		if ids := m.Encode(text); len(ids) == 0 || len(ids) > 50 {
			t.Fatalf("Encode gave %d ids", len(ids))
		}
	})
}
