package sentiment

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/internal/torchtest"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// python/rnnkit_torch.py reads a classifier with an n-gram branch as rnnkit
// does: the same ids (the whole review), the same buckets, the same
// probabilities to float32 rounding, for two and three classes; and the file
// it writes back is byte-identical.
func TestNGramPythonParity(t *testing.T) {
	python := torchtest.Python(t)
	dir := t.TempDir()
	tr := orderSynth(300, 3)
	tok := synthTok(t, tr)
	reviews := texts(orderSynth(20, 4))
	long := strings.Repeat("not good film ", 30) + "good not"
	reviews = append(reviews, long, "<pad> good <pad> not", "")
	type pyCase struct {
		Model   string      `json:"model"`
		IDs     [][]int32   `json:"ids"`
		Buckets [][]uint32  `json:"buckets"`
		Probs   [][]float32 `json:"probs"`
	}
	var cases []pyCase
	for i, labels := range [][]string{{"negative", "positive"}, {"a", "b", "c"}} {
		m := tinyModel(t, tok, rnn.GRU, "max+mean")
		if len(labels) == 3 {
			var err error
			m, err = New(Config{Cell: rnn.GRU, Embedding: 16, Hidden: 16, Layers: 1, Bidirectional: true,
				Pooling: "last", Labels: labels, MaxLen: 12, Truncate: TruncTail}, tok)
			require.NoError(t, err)
		}
		ex := tr
		if len(labels) == 3 {
			ex = make([]Example, len(tr))
			for j, e := range tr {
				ex[j] = Example{Text: e.Text, Label: (e.Label + j%3) % 3}
			}
		}
		hm, _, err := m.TrainNGram(context.Background(), ex, smallNGram())
		require.NoError(t, err)
		name := filepath.Join(dir, "ngram"+string(rune('0'+i))+".safetensors")
		require.NoError(t, hm.Save(name, rnn.F32))
		c := pyCase{Model: name}
		for _, text := range reviews {
			ids := hm.Encode(text)
			c.IDs = append(c.IDs, ids)
			c.Buckets = append(c.Buckets, ngramFeatures(nil, ids, hm.Config.NGram.N, hm.Config.NGram.Buckets))
			c.Probs = append(c.Probs, hm.Predict(text).Probs)
		}
		cases = append(cases, c)
	}
	b, err := json.Marshal(map[string]any{"texts": reviews, "cases": cases})
	require.NoError(t, err)
	in := filepath.Join(dir, "cases.json")
	require.NoError(t, os.WriteFile(in, b, 0o644))
	script := `
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import torch, rnnkit_torch as rk
d = json.load(open(sys.argv[2]))
worst = 0.0
for c in d["cases"]:
    m = rk.load(c["model"])
    ids = [m.encode(t) for t in d["texts"]]
    assert ids == c["ids"], "ids differ"
    for i, b in zip(ids, c["buckets"]):
        assert m.ngram_features(i).tolist() == b, ("buckets differ", i)
    p = m.probs(d["texts"]).double()
    worst = max(worst, (p - torch.tensor(c["probs"], dtype=torch.float64)).abs().max().item())
    m.save(c["model"] + ".py")
    assert open(c["model"] + ".py", "rb").read() == open(c["model"], "rb").read(), "rewrite differs"
print(worst)
`
	cmd := exec.Command(python, "-c", script, filepath.Join("..", "python"), in)
	cmd.Env = append(os.Environ(), "RNNKIT_TORCH_PURE=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var worst float64
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(string(out))), &worst), "%s", out)
	t.Logf("max |p_go - p_torch| = %.2e", worst)
	assert.Less(t, worst, 1e-6)
}
