package sentiment

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/parity_*.safetensors and parity_input.json (then run testdata/torch_parity.py)")

// parityCase is one tiny model of the torch parity check.
type parityCase struct {
	Name  string      `json:"name"`
	Model string      `json:"model"` // file under testdata
	IDs   [][]int32   `json:"ids"`   // reviews as token ids
	Probs [][]float32 `json:"probs,omitempty"`
}

func parityModels(t *testing.T) []*Model {
	toks := strings.Fields("good bad film plot the a was it great awful and of")
	tok, err := tokenize.TrainWord(strings.NewReader(strings.Join(toks, " ")), tokenize.WordOptions{})
	require.NoError(t, err)
	var ms []*Model
	for i, c := range []Config{
		{Cell: rnn.LSTM, Embedding: 5, Hidden: 4, Layers: 2, Bidirectional: true, Pooling: "max+mean+last+attention", Dropout: 0.2},
		{Cell: rnn.GRU, Embedding: 5, Hidden: 3, Layers: 1, Bidirectional: true, Pooling: "max+mean+last+attention"},
		{Cell: rnn.GRU, Embedding: 4, Hidden: 3, Layers: 1, Pooling: "last+max"},
	} {
		c.Labels = []string{"1", "2", "3"}
		m, err := New(c, tok)
		require.NoError(t, err)
		m.Init(rand.New(rand.NewPCG(uint64(i), 9)))
		ms = append(ms, m)
	}
	return ms
}

// TestTorchParity checks the model's probabilities, computed on one ragged
// batch, against PyTorch's on each review alone (nn.Embedding, nn.LSTM/GRU,
// the poolings, nn.Linear) for tiny models whose files are in testdata. The
// golden probabilities come from testdata/torch_parity.py; go test needs no
// Python.
func TestTorchParity(t *testing.T) {
	const input = "testdata/parity_input.json"
	if *update {
		var cases []parityCase
		rng := rand.New(rand.NewPCG(5, 5))
		for i, m := range parityModels(t) {
			name := []string{"lstm2_bi", "gru_bi", "gru_uni"}[i]
			c := parityCase{Name: name, Model: "parity_" + name + ".safetensors"}
			for _, n := range []int{1, 7, 3, 12, 2} {
				ids := make([]int32, n)
				for k := range ids {
					ids[k] = int32(rng.IntN(m.Config.Vocab))
				}
				c.IDs = append(c.IDs, ids)
			}
			require.NoError(t, m.Save("testdata/"+c.Model, rnn.F32))
			cases = append(cases, c)
		}
		b, _ := json.MarshalIndent(cases, "", " ")
		require.NoError(t, os.WriteFile(input, b, 0o644))
		t.Skip("wrote the inputs; now run: /usr/bin/python3 sentiment/testdata/torch_parity.py")
	}
	b, err := os.ReadFile("testdata/parity_golden.json")
	require.NoError(t, err)
	var cases []parityCase
	require.NoError(t, json.Unmarshal(b, &cases))
	require.Len(t, cases, 3)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			m, err := Load("testdata/" + c.Model)
			require.NoError(t, err)
			got := m.PredictIDs(c.IDs)
			for i, p := range got {
				for k := range p.Probs {
					assert.InDelta(t, c.Probs[i][k], p.Probs[k], 2e-6, "review %d class %d", i, k)
				}
			}
		})
	}
}
