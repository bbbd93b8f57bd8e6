package sentiment

import (
	"math"
	"math/rand/v2"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// work holds the buffers of one forward (and backward) pass over a batch.
// Buffers grow to the largest batch seen and are reused; nothing is
// allocated per step once they have grown. A work is used by one goroutine.
type work struct {
	T, B     int
	seq      *rnn.Seq
	ids      []int32   // (T, B) time-major, Pad beyond each length
	lens     []int     // (B)
	x, dxe   []float32 // (T*B, E)
	out      []float32 // (T, B, DH): the rnn's output, owned by seq
	dy       []float32 // (T, B, DH)
	feat     []float32 // (B, F) pooled features
	featD    []float32 // (B, F) after dropout
	dfeat    []float32 // (B, F)
	logits   []float32 // (B, C)
	dlogits  []float32 // (B, C)
	argmax   []int32   // (B, DH) time of the max, per max-pooled unit
	alpha    []float32 // (T, B) attention weights (0 beyond each length)
	dalpha   []float32 // (T, B)
	embDrop  rnn.Dropout
	featDrop rnn.Dropout
}

func growF(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func growI(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

func (m *Model) newWork() *work { return &work{seq: m.rnn.NewSeq()} }

// getWork takes an idle workspace (or makes one); putWork returns it.
func (m *Model) getWork() *work {
	select {
	case w := <-m.works:
		return w
	default:
		// Inference only (probs, occlusion): the encoder keeps two steps
		// of state, not every step's.
		return &work{seq: m.rnn.NewSeq().InferenceOnly()}
	}
}

func (m *Model) putWork(w *work) {
	select {
	case m.works <- w:
	default:
	}
}

// forward runs the batch of token sequences (each non-empty, at most any
// length) and returns the logits (B, C), owned by w. train enables dropout
// (rng must then be non-nil).
func (m *Model) forward(w *work, batch [][]int32, train bool, rng *rand.Rand) []float32 {
	B := len(batch)
	T := 1
	for _, s := range batch {
		T = max(T, len(s))
	}
	w.T, w.B = T, B
	E, DH, C := m.Config.Embedding, m.rnn.OutputSize(), len(m.Config.Labels)
	F := len(m.pools) * DH
	w.ids = growI(w.ids, T*B)
	if cap(w.lens) < B {
		w.lens = make([]int, B)
	}
	w.lens = w.lens[:B]
	for b, s := range batch {
		n := len(s)
		if n == 0 { // callers encode empty text as <unk>; be safe anyway
			n = 1
			w.ids[b] = tokenize.Unk
		}
		w.lens[b] = n
		for t := 0; t < T; t++ {
			id := tokenize.Pad
			if t < len(s) {
				id = s[t]
			}
			if t > 0 || len(s) > 0 {
				w.ids[t*B+b] = id
			}
		}
	}
	w.x = growF(w.x, T*B*E)
	m.emb.Forward(w.x, w.ids)
	if m.Config.EmbDropout > 0 && train {
		w.embDrop.Forward(w.x, w.x, m.Config.EmbDropout, rng, true)
	}
	w.out = w.seq.Forward(w.x, T, B, w.lens, nil, train, rng)
	w.feat = growF(w.feat, B*F)
	off := 0
	for _, p := range m.pools {
		m.poolForward(w, p, off, F)
		off += DH
	}
	w.featD = growF(w.featD, B*F)
	w.featDrop.Forward(w.featD, w.feat, m.Config.Dropout, rng, train)
	w.logits = growF(w.logits, B*C)
	m.fc.Forward(w.logits, w.featD, B)
	return w.logits
}

// poolForward writes pooling p of w.out into columns [off, off+DH) of w.feat (B, F).
func (m *Model) poolForward(w *work, p string, off, F int) {
	T, B, DH := w.T, w.B, m.rnn.OutputSize()
	out := w.out
	switch p {
	case PoolMax:
		w.argmax = growI(w.argmax, B*DH)
		for b := 0; b < B; b++ {
			f := w.feat[b*F+off : b*F+off+DH]
			am := w.argmax[b*DH : (b+1)*DH]
			copy(f, out[b*DH:(b+1)*DH]) // t = 0
			clear(am)
			for t := 1; t < w.lens[b]; t++ {
				row := out[(t*B+b)*DH : (t*B+b+1)*DH]
				for j, v := range row {
					if v > f[j] {
						f[j] = v
						am[j] = int32(t)
					}
				}
			}
		}
	case PoolMean:
		for b := 0; b < B; b++ {
			f := w.feat[b*F+off : b*F+off+DH]
			clear(f)
			n := w.lens[b]
			for t := 0; t < n; t++ {
				row := out[(t*B+b)*DH : (t*B+b+1)*DH]
				for j, v := range row {
					f[j] += v
				}
			}
			inv := 1 / float32(n)
			for j := range f {
				f[j] *= inv
			}
		}
	case PoolLast:
		H := m.Config.Hidden
		for b := 0; b < B; b++ {
			f := w.feat[b*F+off : b*F+off+DH]
			t := w.lens[b] - 1
			copy(f[:H], out[(t*B+b)*DH:(t*B+b)*DH+H])
			if DH > H { // reverse direction: its final state is its output at t = 0
				copy(f[H:], out[b*DH+H:(b+1)*DH])
			}
		}
	case PoolAttention:
		w.alpha = growF(w.alpha, T*B)
		aw, ab := m.attn.Weight.W, m.attn.Bias.W[0]
		for b := 0; b < B; b++ {
			n := w.lens[b]
			mx := float32(math.Inf(-1))
			for t := 0; t < T; t++ {
				if t >= n {
					w.alpha[t*B+b] = 0
					continue
				}
				s := ab + dot(aw, out[(t*B+b)*DH:(t*B+b+1)*DH])
				w.alpha[t*B+b] = s
				mx = max(mx, s)
			}
			var sum float64
			for t := 0; t < n; t++ {
				e := float32(math.Exp(float64(w.alpha[t*B+b] - mx)))
				w.alpha[t*B+b] = e
				sum += float64(e)
			}
			inv := float32(1 / sum)
			f := w.feat[b*F+off : b*F+off+DH]
			clear(f)
			for t := 0; t < n; t++ {
				a := w.alpha[t*B+b] * inv
				w.alpha[t*B+b] = a
				row := out[(t*B+b)*DH : (t*B+b+1)*DH]
				for j, v := range row {
					f[j] += a * v
				}
			}
		}
	}
}

// poolBackward adds the gradient of pooling p (from columns [off, off+DH)
// of w.dfeat) into w.dy.
func (m *Model) poolBackward(w *work, p string, off, F int) {
	T, B, DH := w.T, w.B, m.rnn.OutputSize()
	out, dy := w.out, w.dy
	switch p {
	case PoolMax:
		for b := 0; b < B; b++ {
			g := w.dfeat[b*F+off : b*F+off+DH]
			am := w.argmax[b*DH : (b+1)*DH]
			for j, v := range g {
				dy[(int(am[j])*B+b)*DH+j] += v
			}
		}
	case PoolMean:
		for b := 0; b < B; b++ {
			g := w.dfeat[b*F+off : b*F+off+DH]
			n := w.lens[b]
			inv := 1 / float32(n)
			for t := 0; t < n; t++ {
				row := dy[(t*B+b)*DH : (t*B+b+1)*DH]
				for j, v := range g {
					row[j] += v * inv
				}
			}
		}
	case PoolLast:
		H := m.Config.Hidden
		for b := 0; b < B; b++ {
			g := w.dfeat[b*F+off : b*F+off+DH]
			t := w.lens[b] - 1
			row := dy[(t*B+b)*DH : (t*B+b)*DH+H]
			for j := range row {
				row[j] += g[j]
			}
			if DH > H {
				row = dy[b*DH+H : (b+1)*DH]
				for j := range row {
					row[j] += g[H+j]
				}
			}
		}
	case PoolAttention:
		aw := m.attn.Weight.W
		gw, gb := m.attn.Weight.G, m.attn.Bias.G
		w.dalpha = growF(w.dalpha, T*B)
		for b := 0; b < B; b++ {
			g := w.dfeat[b*F+off : b*F+off+DH]
			n := w.lens[b]
			// dα_t = g·out_t; ds_t = α_t (dα_t − Σ_u α_u dα_u)
			var s float64
			for t := 0; t < n; t++ {
				da := dot(g, out[(t*B+b)*DH:(t*B+b+1)*DH])
				w.dalpha[t*B+b] = da
				s += float64(w.alpha[t*B+b] * da)
			}
			for t := 0; t < n; t++ {
				a := w.alpha[t*B+b]
				ds := a * (w.dalpha[t*B+b] - float32(s))
				row := out[(t*B+b)*DH : (t*B+b+1)*DH]
				drow := dy[(t*B+b)*DH : (t*B+b+1)*DH]
				for j := range drow {
					drow[j] += a*g[j] + ds*aw[j]
					gw[j] += ds * row[j]
				}
				gb[0] += ds
			}
		}
	}
}

// backward takes dlogits (B, C) for the last forward (with train set) and
// accumulates every parameter's gradient: backwardInput's, then through the
// embedding dropout into the embedding table.
func (m *Model) backward(w *work, dlogits []float32) {
	dx := m.backwardInput(w, dlogits)
	if m.Config.EmbDropout > 0 {
		w.dxe = growF(w.dxe, len(dx))
		w.embDrop.Backward(w.dxe, dx)
		dx = w.dxe
	}
	m.emb.Backward(dx, w.ids)
}

func dot(a, b []float32) float32 {
	var s float32
	b = b[:len(a)]
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
