package rnn

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPyTorchParity loads torch.nn.RNN/LSTM/GRU weights (uni- and
// bidirectional, 2 layers) from the golden files written by
// testdata/gen_parity.py, runs the same ragged batch with the same initial
// states, and compares outputs, final states and every gradient with
// PyTorch's within 1e-4.
func TestPyTorchParity(t *testing.T) {
	files, err := filepath.Glob("testdata/parity/*.safetensors")
	require.NoError(t, err)
	require.Len(t, files, 8, "regenerate with: /usr/bin/python3 rnn/testdata/gen_parity.py")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			st, _ := f.Stat()
			ts, meta, err := ReadSafetensors(f, st.Size())
			require.NoError(t, err)
			var cfg Config
			require.NoError(t, json.Unmarshal([]byte(meta["config"]), &cfg))
			golden := map[string]Tensor{}
			var weights []Tensor
			for _, x := range ts {
				golden[x.Name] = x
				if strings.HasPrefix(x.Name, "rnn.") {
					weights = append(weights, x)
				}
			}
			ps := NewParams()
			l := NewLayer(ps, "rnn.", cfg)
			require.NoError(t, ps.SetFromTensors(weights))

			x := golden["x"]
			T, B := x.Shape[0], x.Shape[1]
			var lengths []int
			for _, v := range golden["lengths"].Data {
				lengths = append(lengths, int(v))
			}
			init := &State{H: golden["h0"].Data}
			if cfg.Cell == LSTM {
				init.C = golden["c0"].Data
			}
			seq := l.NewSeq()
			y := seq.Forward(x.Data, T, B, lengths, init, false, nil)
			near(t, "y", golden["y"].Data, y)
			near(t, "h_n", golden["h_n"].Data, seq.Final().H)
			dFinal := &State{H: golden["rh"].Data}
			if cfg.Cell == LSTM {
				near(t, "c_n", golden["c_n"].Data, seq.Final().C)
				dFinal.C = golden["rc"].Data
			}
			ps.ZeroGrad()
			dx := seq.Backward(golden["ry"].Data, dFinal)
			near(t, "grad.x", golden["grad.x"].Data, dx)
			near(t, "grad.h0", golden["grad.h0"].Data, seq.DInit().H)
			if cfg.Cell == LSTM {
				near(t, "grad.c0", golden["grad.c0"].Data, seq.DInit().C)
			}
			for _, p := range ps.List() {
				g, ok := golden["grad."+p.Name]
				require.True(t, ok, "no golden gradient for %s", p.Name)
				near(t, "grad."+p.Name, g.Data, p.G)
			}
		})
	}
}

// near fails if any element differs by more than 1e-4 (absolute, or
// relative for large values).
func near(t *testing.T, name string, want, got []float32) {
	t.Helper()
	require.Equal(t, len(want), len(got), "%s: length", name)
	for i := range want {
		d := math.Abs(float64(want[i] - got[i]))
		if d > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d]: PyTorch %v, rnnkit %v", name, i, want[i], got[i])
		}
	}
}
