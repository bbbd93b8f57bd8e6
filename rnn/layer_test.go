package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// gradCase is one configuration of the finite-difference check.
type gradCase struct {
	cell    Cell
	layers  int
	bidir   bool
	ragged  bool
	init    bool
	dropout float32
}

func (c gradCase) String() string {
	return fmt.Sprintf("%v/L%d/bi=%v/ragged=%v/init=%v/drop=%v", c.cell, c.layers, c.bidir, c.ragged, c.init, c.dropout)
}

// randomProbe returns a slice of n values from N(0,1).
func randomProbe(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// TestLayerGradients checks every analytic gradient of Layer (weights, input,
// initial state) against central finite differences of the scalar
// L = Σ y·Ry + Σ h_n·Rh (+ Σ c_n·Rc), for each cell, stacked and
// bidirectional, with ragged lengths and given initial states.
func TestLayerGradients(t *testing.T) {
	const T, B, In, H = 4, 3, 3, 4
	var cases []gradCase
	for _, cell := range []Cell{Tanh, ReLU, LSTM, GRU} {
		cases = append(cases,
			gradCase{cell: cell, layers: 1},
			gradCase{cell: cell, layers: 2, bidir: true, ragged: true, init: true},
		)
	}
	cases = append(cases,
		gradCase{cell: LSTM, layers: 2, ragged: true},
		gradCase{cell: GRU, layers: 1, bidir: true, init: true},
		gradCase{cell: LSTM, layers: 2, bidir: true, dropout: 0.3},
	)
	for _, tc := range cases {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			ps := NewParams()
			l := NewLayer(ps, "rnn.", Config{Cell: tc.cell, InputSize: In, HiddenSize: H, NumLayers: tc.layers, Bidirectional: tc.bidir, Dropout: tc.dropout})
			l.Init(rng)
			if tc.cell == ReLU {
				// Keep pre-activations away from the kink at 0.
				for i := range ps.Values {
					ps.Values[i] += 0.05
				}
			}
			x := randomProbe(rng, T*B*In)
			var lengths []int
			if tc.ragged {
				lengths = []int{4, 1, 3}
			}
			var init *State
			if tc.init {
				init = l.NewState(B)
				copy(init.H, randomProbe(rng, len(init.H)))
				if init.C != nil {
					copy(init.C, randomProbe(rng, len(init.C)))
				}
			}
			ry := randomProbe(rng, T*B*l.OutputSize())
			rs := l.NewState(B)
			copy(rs.H, randomProbe(rng, len(rs.H)))
			if rs.C != nil {
				copy(rs.C, randomProbe(rng, len(rs.C)))
			}
			seq := l.NewSeq()
			train := tc.dropout > 0
			loss := func() float64 {
				y := seq.Forward(x, T, B, lengths, init, train, rand.New(rand.NewPCG(7, 7)))
				var s float64
				for i, v := range y {
					s += float64(v) * float64(ry[i])
				}
				f := seq.Final()
				for i, v := range f.H {
					s += float64(v) * float64(rs.H[i])
				}
				for i, v := range f.C {
					s += float64(v) * float64(rs.C[i])
				}
				return s
			}
			loss()
			ps.ZeroGrad()
			dx := append([]float32(nil), seq.Backward(ry, rs)...)
			dInit := seq.DInit()
			// Padding must not leak: outputs beyond a length are exactly zero.
			if lengths != nil {
				y := seq.Forward(x, T, B, lengths, init, train, rand.New(rand.NewPCG(7, 7)))
				for b, n := range lengths {
					for tt := n; tt < T; tt++ {
						for j := 0; j < l.OutputSize(); j++ {
							if v := y[(tt*B+b)*l.OutputSize()+j]; v != 0 {
								t.Fatalf("output at padding step t=%d b=%d is %v, want 0", tt, b, v)
							}
						}
					}
				}
			}
			step := 1e-2
			if tc.cell == ReLU {
				step = 1e-3 // stay on one side of the kink
			}
			check := func(name string, vals []float32, grads []float32) {
				t.Helper()
				orig := append([]float32(nil), vals...)
				want := fd.Gradient(nil, func(v []float64) float64 {
					for i := range v {
						vals[i] = float32(v[i])
					}
					return loss()
				}, toF64(vals), &fd.Settings{Formula: fd.Central, Step: step})
				copy(vals, orig)
				for i := range want {
					got := float64(grads[i])
					if math.Abs(got-want[i]) > 2e-3+2e-2*math.Abs(want[i]) {
						t.Errorf("%s[%d]: analytic %.6f, finite difference %.6f", name, i, got, want[i])
						return
					}
				}
			}
			for _, p := range ps.List() {
				check(p.Name, p.W, append([]float32(nil), p.G...))
			}
			check("x", x, dx)
			if init != nil {
				check("h0", init.H, append([]float32(nil), dInit.H...))
				if init.C != nil {
					check("c0", init.C, append([]float32(nil), dInit.C...))
				}
			}
		})
	}
}

func toF64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}

// TestLayerRaggedMatchesUnpadded checks that a padded sequence in a ragged
// batch gives exactly the outputs and final state of the same sequence run
// alone at its true length: padding never leaks into states.
func TestLayerRaggedMatchesUnpadded(t *testing.T) {
	const T, B, In, H = 5, 2, 3, 4
	for _, cell := range []Cell{Tanh, LSTM, GRU} {
		rng := rand.New(rand.NewPCG(3, 4))
		ps := NewParams()
		l := NewLayer(ps, "", Config{Cell: cell, InputSize: In, HiddenSize: H, NumLayers: 2, Bidirectional: true})
		l.Init(rng)
		x := randomProbe(rng, T*B*In)
		seq := l.NewSeq()
		y := append([]float32(nil), seq.Forward(x, T, B, []int{5, 2}, nil, false, nil)...)
		fin := append([]float32(nil), seq.Final().H...)
		// Sequence 1 alone, length 2.
		x1 := make([]float32, 2*In)
		for tt := 0; tt < 2; tt++ {
			copy(x1[tt*In:(tt+1)*In], x[(tt*B+1)*In:(tt*B+2)*In])
		}
		alone := l.NewSeq()
		y1 := alone.Forward(x1, 2, 1, nil, nil, false, nil)
		D := l.OutputSize()
		for tt := 0; tt < 2; tt++ {
			for j := 0; j < D; j++ {
				a, b := y[(tt*B+1)*D+j], y1[tt*D+j]
				if math.Abs(float64(a-b)) > 1e-6 {
					t.Fatalf("%v: output t=%d j=%d: batched %v, alone %v", cell, tt, j, a, b)
				}
			}
		}
		for r := 0; r < l.StateRows(); r++ {
			for j := 0; j < H; j++ {
				a, b := fin[(r*B+1)*H+j], alone.Final().H[r*H+j]
				if math.Abs(float64(a-b)) > 1e-6 {
					t.Fatalf("%v: final state row %d j=%d: batched %v, alone %v", cell, r, j, a, b)
				}
			}
		}
	}
}

// TestSeqBytesFormula checks the documented memory formula of Seq.Bytes
// against the buffers a training pass really holds.
func TestSeqBytesFormula(t *testing.T) {
	for _, cell := range []Cell{Tanh, LSTM, GRU} {
		for _, bidir := range []bool{false, true} {
			const T, B, In, H, L = 7, 5, 3, 6, 2
			cfg := Config{Cell: cell, InputSize: In, HiddenSize: H, NumLayers: L, Bidirectional: bidir, Dropout: 0.2}
			ps := NewParams()
			l := NewLayer(ps, "", cfg)
			l.Init(rand.New(rand.NewPCG(1, 1)))
			seq := l.NewSeq()
			y := seq.Forward(make([]float32, T*B*In), T, B, nil, nil, true, rand.New(rand.NewPCG(2, 2)))
			seq.Backward(make([]float32, len(y)), nil)
			G, D, S := cell.Gates(), cfg.dirs(), 0
			if cell == LSTM {
				S = 1
			}
			perDir := T*B*(G*H+(2+3*S)*H) + B*H*(1+S) // + dh (and dc) scratch
			if cell == GRU {
				perDir += T*B*(H+G*H) + B*G*H
			}
			want := L*D*perDir + L*T*B*D*H + (L-1)*T*B*D*H /* dropout inputs */ + (L-1)*T*B*D*H /* masks */ +
				(L-1)*T*B*D*H + T*B*In + 2*L*D*B*H*(1+S)
			if got := seq.Bytes(); got != 4*want {
				t.Errorf("%v bidir=%v: Bytes() = %d, formula gives %d", cell, bidir, got, 4*want)
			}
		}
	}
}

// TestLayerSteadyStateAllocs: after the first pass has sized the buffers, a
// training forward and backward allocates nothing, with or without the
// concurrent directions of a bidirectional layer.
func TestLayerSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, bidir := range []bool{false, true} {
		const T, B, In, H = 16, 4, 8, 16
		ps := NewParams()
		l := NewLayer(ps, "", Config{Cell: LSTM, InputSize: In, HiddenSize: H, NumLayers: 2, Bidirectional: bidir, Dropout: 0.1})
		rng := rand.New(rand.NewPCG(1, 1))
		l.Init(rng)
		seq := l.NewSeq()
		x := randomProbe(rng, T*B*In)
		dy := randomProbe(rng, T*B*l.OutputSize())
		init := l.NewState(B)
		pass := func() {
			seq.Forward(x, T, B, nil, init, true, rng)
			seq.Backward(dy, nil)
		}
		pass()
		allocs := testing.AllocsPerRun(20, pass)
		if allocs != 0 {
			t.Errorf("bidir=%v: %.0f allocations per pass, want 0", bidir, allocs)
		}
	}
}

// TestInferenceSeqHalfIsExact: with weights exactly representable in half
// precision (a model stored as F16), the inference workspace's half-precision
// path gives bit-identical steps; with other weights it falls back.
func TestInferenceSeqHalfIsExact(t *testing.T) {
	for _, cell := range []Cell{Tanh, LSTM, GRU} {
		const In, H = 24, 32
		ps := NewParams()
		l := NewLayer(ps, "", Config{Cell: cell, InputSize: In, HiddenSize: H, NumLayers: 2})
		rng := rand.New(rand.NewPCG(1, 1))
		l.Init(rng)
		for i, v := range ps.Values { // round to half precision
			ps.Values[i] = float32(math.Round(float64(v)*1024) / 1024)
		}
		fast, plain := l.NewInferenceSeq(), l.NewSeq()
		if fast.half == nil {
			t.Fatalf("%v: half-precision copies not built", cell)
		}
		sf, sp := l.NewState(1), l.NewState(1)
		for step := 0; step < 20; step++ {
			x := randomProbe(rng, In)
			yf := fast.Forward(x, 1, 1, nil, sf, false, nil)
			yp := plain.Forward(x, 1, 1, nil, sp, false, nil)
			for j := range yp {
				if yf[j] != yp[j] {
					t.Fatalf("%v step %d: half path %v, float32 path %v", cell, step, yf[j], yp[j])
				}
			}
			sf.CopyFrom(fast.Final())
			sp.CopyFrom(plain.Final())
		}
		ps.Values[0] = 0.1 // not representable: no half copies
		if l.NewInferenceSeq().half != nil {
			t.Fatalf("%v: half copies built for inexact weights", cell)
		}
	}
}

// TestStepSeqIsExact: the packed-weight workspace of NewStepSeq gives
// bit-identical outputs and final states to NewSeq's, one step at a time
// and over several steps (also ragged), for every cell, stacked and
// bidirectional, with batches of one row (which it leaves to the
// matrix-vector path) and more; and it allocates nothing per step.
func TestStepSeqIsExact(t *testing.T) {
	// H = 17 and 11 give Tanh and GRU gate widths (17, 33) whose last
	// column panel is one column wide, which packed products round
	// differently: the workspace must not use them there.
	for _, ch := range []struct {
		cell Cell
		H    int
	}{{Tanh, 40}, {LSTM, 40}, {GRU, 40}, {Tanh, 17}, {GRU, 11}} {
		cell, H := ch.cell, ch.H
		for _, bidir := range []bool{false, true} {
			const In = 24
			ps := NewParams()
			l := NewLayer(ps, "", Config{Cell: cell, InputSize: In, HiddenSize: H, NumLayers: 2, Bidirectional: bidir})
			rng := rand.New(rand.NewPCG(1, 2))
			l.Init(rng)
			fast, plain := l.NewStepSeq(), l.NewSeq()
			for _, tb := range [][3]int{{1, 7}, {1, 1}, {5, 9}, {1, 64}, {6, 10, 1}} {
				T, B := tb[0], tb[1]
				var lens []int // {T, B, 1}: ragged, as an encoder's batch
				if tb[2] == 1 {
					for b := 0; b < B; b++ {
						lens = append(lens, 1+b%T)
					}
				}
				sf, sp := l.NewState(B), l.NewState(B)
				for step := 0; step < 6; step++ {
					x := randomProbe(rng, T*B*In)
					yf := fast.Forward(x, T, B, lens, sf, false, nil)
					yp := plain.Forward(x, T, B, lens, sp, false, nil)
					for j := range yp {
						if math.Float32bits(yf[j]) != math.Float32bits(yp[j]) {
							t.Fatalf("%v bidir=%v T=%d B=%d step %d: output[%d] %v, NewSeq gives %v", cell, bidir, T, B, step, j, yf[j], yp[j])
						}
					}
					for j := range sp.H {
						if math.Float32bits(fast.Final().H[j]) != math.Float32bits(plain.Final().H[j]) {
							t.Fatalf("%v bidir=%v T=%d B=%d step %d: final h differs", cell, bidir, T, B, step)
						}
					}
					sf.CopyFrom(fast.Final())
					sp.CopyFrom(plain.Final())
				}
			}
			if raceEnabled {
				continue
			}
			x, st := randomProbe(rng, 8*In), l.NewState(8)
			fast.Forward(x, 1, 8, nil, st, false, nil)
			if a := testing.AllocsPerRun(10, func() { fast.Forward(x, 1, 8, nil, st, false, nil) }); a != 0 {
				t.Errorf("%v bidir=%v: %.0f allocations per step, want 0", cell, bidir, a)
			}
		}
	}
}
