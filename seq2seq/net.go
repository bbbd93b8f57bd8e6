package seq2seq

import (
	"math/rand/v2"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
	"github.com/rnnkit/rnnkit/tokenize"
)

// batch is a padded batch of pairs, time-major.
type batch struct {
	S, T, B int
	src     []int32 // (S, B): source ids, Pad beyond a length
	srcLen  []int   // (B)
	tgtIn   []int32 // (T, B): BOS y0 .. y_{n-1}, Pad beyond
	tgtOut  []int32 // (T, B): y0 .. y_{n-1} EOS, -1 beyond (ignored by the loss)
	tokens  int     // target tokens (EOS included)
}

// fill lays out the pairs (srcs[i], tgts[i]) into b, reusing its buffers.
// tgts may be nil (translation: only the source side).
func (b *batch) fill(srcs, tgts [][]int32) {
	B := len(srcs)
	S, T := 1, 1
	for i := range srcs {
		S = max(S, len(srcs[i]))
		if tgts != nil {
			T = max(T, len(tgts[i])+1)
		}
	}
	b.S, b.T, b.B = S, T, B
	b.src = growI(b.src, S*B)
	b.srcLen = b.srcLen[:0]
	clear(b.src)
	for i, s := range srcs {
		for t, id := range s {
			b.src[t*B+i] = id
		}
		b.srcLen = append(b.srcLen, max(len(s), 1))
		if len(s) == 0 {
			b.src[i] = tokenize.Unk // an empty source still needs one key
		}
	}
	if tgts == nil {
		return
	}
	b.tgtIn = growI(b.tgtIn, T*B)
	b.tgtOut = growI(b.tgtOut, T*B)
	b.tokens = 0
	for i, y := range tgts {
		for t := 0; t < T; t++ {
			in, out := tokenize.Pad, int32(-1)
			switch {
			case t == 0:
				in = tokenize.BOS
			case t <= len(y):
				in = y[t-1]
			}
			switch {
			case t < len(y):
				out = y[t]
			case t == len(y):
				out = tokenize.EOS
			}
			b.tgtIn[t*B+i], b.tgtOut[t*B+i] = in, out
		}
		b.tokens += len(y) + 1
	}
}

func growI(buf []int32, n int) []int32 {
	if cap(buf) < n {
		return make([]int32, n)
	}
	return buf[:n]
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// work holds the activations of one training forward/backward pass; its
// buffers grow to the largest batch and are reused.
type work struct {
	m       *Model
	S, T, B int

	// encoder
	srcX    []float32 // (S, B, E) after dropout
	srcDrop rnn.Dropout
	encSeq  *rnn.Seq
	enc     []float32 // (S, B, 2He), owned by encSeq
	bIn     []float32 // (B, 2He) [h_fwd; h_bwd] of the top encoder layer
	s0      []float32 // (B, Hd) tanh(bridge(bIn))
	init    *rnn.State
	dFinal  rnn.State
	mem     *rnn.AttentionMemory

	// decoder
	ids    []int32   // (T, B) decoder input ids actually fed
	e      []float32 // (T, B, E) after dropout
	eDrop  []rnn.Dropout
	x      []float32 // (T, B, decIn) step mode with input feeding
	decSeq *rnn.Seq  // whole-sequence mode
	seqs   []*rnn.Seq
	h      []float32 // (T, B, Hd)
	ctx    []float32 // (T, B, 2He)
	steps  []rnn.AttentionStep
	feat   []float32 // (T, B, F) = [h; ctx; e]
	featD  []float32 // after dropout
	fDrop  []rnn.Dropout
	pre    []float32 // (T, B, E) tied output only
	logits []float32 // (T, B, V)

	stepMode bool

	// gradients
	dlogits, dpre, dfeat []float32
	dH, dCtx, dE         []float32
	dq, dFeed, dBIn, ds0 []float32
}

func newWork(m *Model) *work {
	return &work{m: m, encSeq: m.enc.NewSeq(), decSeq: m.dec.NewSeq(), mem: m.attn.NewMemory()}
}

// newInferWork is newWork for inference passes (train false) over many
// batches: the encoder's and decoder's weights are packed once for the
// matrix kernel (rnn.Layer.NewStepSeq, the same bits) instead of at every
// Forward.
func newInferWork(m *Model) *work {
	w := newWork(m)
	w.encSeq, w.decSeq = m.enc.NewStepSeq().InferenceOnly(), m.dec.NewStepSeq().InferenceOnly()
	return w
}

// forward runs the model over bt with teacher forcing ratio tf (1: always
// feed the gold previous token) and returns the mean token cross entropy
// (with label smoothing ls) and its token count. With grad it leaves
// ∂loss/∂logits in w.dlogits for backward.
func (w *work) forward(bt *batch, train bool, tf float64, ls float32, rng *rand.Rand, grad bool) (float64, int) {
	if !w.decode(bt, train, tf, rng) {
		w.logits = grow(w.logits, bt.T*bt.B*w.m.Config.TgtVocab)
		w.outForward(0, bt.T*bt.B)
	}
	var dl []float32
	if grad {
		// The gradient overwrites the logits, which nothing reads after
		// the loss: one (T, B, V) buffer instead of two (41 MB in W4).
		w.dlogits = w.logits
		dl = w.dlogits
	}
	return rnn.SoftmaxCrossEntropy(dl, w.logits, bt.tgtOut, bt.T*bt.B, w.m.Config.TgtVocab, rnn.CrossEntropyOptions{LabelSmoothing: ls})
}

// decode runs forward's encoder and decoder up to the output layer's input
// (w.featD, (T, B, F)); it computes the logits too, step by step, only when
// training feeds back its own predictions, and then reports true.
func (w *work) decode(bt *batch, train bool, tf float64, rng *rand.Rand) (logits bool) {
	m, cfg := w.m, w.m.Config
	S, T, B := bt.S, bt.T, bt.B
	w.S, w.T, w.B = S, T, B
	E, He, Hd, V := cfg.Embedding, cfg.EncHidden, cfg.DecHidden, cfg.TgtVocab
	K, F := 2*He, m.featWidth()
	p := cfg.Dropout
	if !train {
		p = 0
	}

	// encoder
	w.srcX = grow(w.srcX, S*B*E)
	m.srcEmb.Forward(w.srcX, bt.src)
	w.srcDrop.Forward(w.srcX, w.srcX, p, rng, train)
	w.enc = w.encSeq.Forward(w.srcX, S, B, bt.srcLen, nil, train, rng)
	w.bridgeForward(w.encSeq.Final(), B)
	w.mem.Set(w.enc, S, B, bt.srcLen)

	// decoder
	w.stepMode = cfg.InputFeeding || (train && tf < 1)
	w.ids = growI(w.ids, T*B)
	copy(w.ids, bt.tgtIn)
	w.e = grow(w.e, T*B*E)
	w.h = grow(w.h, T*B*Hd)
	w.ctx = grow(w.ctx, T*B*K)
	w.feat = grow(w.feat, T*B*F)
	w.featD = grow(w.featD, T*B*F)
	if cfg.TieEmbeddings {
		w.pre = grow(w.pre, T*B*E)
	}
	for len(w.steps) < T {
		w.steps = append(w.steps, rnn.AttentionStep{})
		w.eDrop = append(w.eDrop, rnn.Dropout{})
		w.fDrop = append(w.fDrop, rnn.Dropout{})
	}
	perStepLogits := w.stepMode && train && tf < 1
	if perStepLogits {
		w.logits = grow(w.logits, T*B*V)
	}
	embedStep := func(t int) {
		et := w.e[t*B*E : (t+1)*B*E]
		m.tgtEmb.Forward(et, w.ids[t*B:(t+1)*B])
		w.eDrop[t].Forward(et, et, p, rng, train)
	}
	attend := func(t int) {
		ht, ct := w.h[t*B*Hd:(t+1)*B*Hd], w.ctx[t*B*K:(t+1)*B*K]
		w.mem.Forward(&w.steps[t], ct, ht)
		ft := w.feat[t*B*F : (t+1)*B*F]
		et := w.e[t*B*E : (t+1)*B*E]
		for b := 0; b < B; b++ {
			r := ft[b*F : (b+1)*F]
			copy(r, ht[b*Hd:(b+1)*Hd])
			copy(r[Hd:], ct[b*K:(b+1)*K])
			copy(r[Hd+K:], et[b*E:(b+1)*E])
		}
		w.fDrop[t].Forward(w.featD[t*B*F:(t+1)*B*F], ft, p, rng, train)
	}
	if w.stepMode {
		in := m.decIn()
		w.x = grow(w.x, T*B*in)
		for len(w.seqs) < T {
			w.seqs = append(w.seqs, m.dec.NewSeq())
		}
		for t := 0; t < T; t++ {
			if perStepLogits && t > 0 && rng.Float64() >= tf {
				lt := w.logits[(t-1)*B*V : t*B*V]
				for b := 0; b < B; b++ {
					w.ids[t*B+b] = argmax(lt[b*V : (b+1)*V])
				}
			}
			embedStep(t)
			xt := w.x[t*B*in : (t+1)*B*in]
			et := w.e[t*B*E : (t+1)*B*E]
			for b := 0; b < B; b++ {
				copy(xt[b*in:b*in+E], et[b*E:(b+1)*E])
				if cfg.InputFeeding {
					if t == 0 {
						clear(xt[b*in+E : (b+1)*in])
					} else {
						copy(xt[b*in+E:(b+1)*in], w.ctx[((t-1)*B+b)*K:((t-1)*B+b+1)*K])
					}
				}
			}
			prev := w.init
			if t > 0 {
				prev = w.seqs[t-1].Final()
			}
			copy(w.h[t*B*Hd:(t+1)*B*Hd], w.seqs[t].Forward(xt, 1, B, nil, prev, train, rng))
			attend(t)
			if perStepLogits {
				w.outForward(t*B, B)
			}
		}
	} else {
		for t := 0; t < T; t++ {
			embedStep(t)
		}
		copy(w.h, w.decSeq.Forward(w.e, T, B, nil, w.init, train, rng))
		for t := 0; t < T; t++ {
			attend(t)
		}
	}
	return perStepLogits
}

// outForward computes the logits of rows [r0, r0+n).
func (w *work) outForward(r0, n int) {
	m := w.m
	F, E, V := m.featWidth(), m.Config.Embedding, m.Config.TgtVocab
	f := w.featD[r0*F : (r0+n)*F]
	if m.preOut != nil {
		pr := w.pre[r0*E : (r0+n)*E]
		m.preOut.Forward(pr, f, n)
		f = pr
	}
	m.out.Forward(w.logits[r0*V:(r0+n)*V], f, n)
}

// outputs computes the logits (n, V) of the output-layer inputs f (n, F)
// into logits, grown as needed and returned; pre is the tied model's
// pre_out buffer. preOut and out, if not nil, are packed snapshots of
// m.preOut and m.out, used for n > 1 (bit-identical there).
func (m *Model) outputs(logits []float32, pre *[]float32, f []float32, n int, preOut, out *rnn.PackedLinear) []float32 {
	logits = grow(logits, n*m.Config.TgtVocab)
	if m.preOut != nil {
		*pre = grow(*pre, n*m.Config.Embedding)
		if preOut != nil && n > 1 {
			preOut.Forward(*pre, f, n)
		} else {
			m.preOut.Forward(*pre, f, n)
		}
		f = *pre
	}
	if out != nil && n > 1 {
		out.Forward(logits, f, n)
	} else {
		m.out.Forward(logits, f, n)
	}
	return logits
}

// exactPacked returns l.Packed() if its Forward gives l's bits (n > 1),
// else nil.
func exactPacked(l *rnn.Linear) *rnn.PackedLinear {
	if l == nil {
		return nil
	}
	if p := l.Packed(); p.SameAsForward() {
		return p
	}
	return nil
}

// bridgeForward sets the decoder's initial state from the encoder's final state.
func (w *work) bridgeForward(final *rnn.State, B int) {
	m, cfg := w.m, w.m.Config
	He, Hd := cfg.EncHidden, cfg.DecHidden
	L := cfg.EncLayers
	w.bIn = grow(w.bIn, B*2*He)
	fw := final.H[(L-1)*2*B*He : ((L-1)*2+1)*B*He]
	bw := final.H[((L-1)*2+1)*B*He : (L-1)*2*B*He+2*B*He]
	for b := 0; b < B; b++ {
		copy(w.bIn[b*2*He:], fw[b*He:(b+1)*He])
		copy(w.bIn[b*2*He+He:], bw[b*He:(b+1)*He])
	}
	w.s0 = grow(w.s0, B*Hd)
	m.bridge.Forward(w.s0, w.bIn, B)
	for i, v := range w.s0 {
		w.s0[i] = tanh32(v)
	}
	if w.init == nil || len(w.init.H) != cfg.DecLayers*B*Hd {
		w.init = m.dec.NewState(B)
	}
	for l := 0; l < cfg.DecLayers; l++ {
		copy(w.init.H[l*B*Hd:(l+1)*B*Hd], w.s0)
	}
	clear(w.init.C)
}

// backward propagates w.dlogits (from forward with grad) into every
// parameter gradient (accumulated).
func (w *work) backward(bt *batch) {
	m, cfg := w.m, w.m.Config
	S, T, B := w.S, w.T, w.B
	E, He, Hd := cfg.Embedding, cfg.EncHidden, cfg.DecHidden
	K, F := 2*He, m.featWidth()
	n := T * B

	// output layer
	w.dfeat = grow(w.dfeat, n*F)
	if m.preOut != nil {
		w.dpre = grow(w.dpre, n*E)
		m.out.Backward(w.dpre, w.dlogits, w.pre, n)
		m.preOut.Backward(w.dfeat, w.dpre, w.featD, n)
	} else {
		m.out.Backward(w.dfeat, w.dlogits, w.featD, n)
	}
	w.dH = grow(w.dH, n*Hd)
	w.dCtx = grow(w.dCtx, n*K)
	w.dE = grow(w.dE, n*E)
	for t := 0; t < T; t++ {
		df := w.dfeat[t*B*F : (t+1)*B*F]
		w.fDrop[t].Backward(df, df)
	}
	for r := 0; r < n; r++ {
		df := w.dfeat[r*F : (r+1)*F]
		copy(w.dH[r*Hd:(r+1)*Hd], df[:Hd])
		copy(w.dCtx[r*K:(r+1)*K], df[Hd:Hd+K])
		copy(w.dE[r*E:(r+1)*E], df[Hd+K:])
	}
	w.dq = grow(w.dq, B*Hd)
	attnBack := func(t int) {
		w.mem.Backward(&w.steps[t], w.dq, w.dCtx[t*B*K:(t+1)*B*K])
		kernel.Axpy(1, w.dq, w.dH[t*B*Hd:(t+1)*B*Hd])
	}
	var dInit *rnn.State
	if w.stepMode {
		in := m.decIn()
		w.dFeed = grow(w.dFeed, B*K)
		for t := T - 1; t >= 0; t-- {
			if cfg.InputFeeding && t < T-1 {
				dc := w.dCtx[t*B*K : (t+1)*B*K]
				for b := 0; b < B; b++ {
					kernel.Axpy(1, w.dFeed[b*K:(b+1)*K], dc[b*K:(b+1)*K])
				}
			}
			attnBack(t)
			var dFinal *rnn.State
			if t < T-1 {
				dFinal = w.seqs[t+1].DInit()
			}
			dx := w.seqs[t].Backward(w.dH[t*B*Hd:(t+1)*B*Hd], dFinal)
			de := w.dE[t*B*E : (t+1)*B*E]
			for b := 0; b < B; b++ {
				kernel.Axpy(1, dx[b*in:b*in+E], de[b*E:(b+1)*E])
				if cfg.InputFeeding {
					copy(w.dFeed[b*K:(b+1)*K], dx[b*in+E:(b+1)*in])
				}
			}
		}
		dInit = w.seqs[0].DInit()
	} else {
		for t := T - 1; t >= 0; t-- {
			attnBack(t)
		}
		dx := w.decSeq.Backward(w.dH, nil)
		kernel.Axpy(1, dx[:len(w.dE)], w.dE)
		dInit = w.decSeq.DInit()
	}
	for t := 0; t < T; t++ {
		de := w.dE[t*B*E : (t+1)*B*E]
		w.eDrop[t].Backward(de, de)
	}
	m.tgtEmb.Backward(w.dE, w.ids[:n])

	// bridge: s0 feeds every decoder layer
	w.ds0 = grow(w.ds0, B*Hd)
	copy(w.ds0, dInit.H[:B*Hd])
	for l := 1; l < cfg.DecLayers; l++ {
		kernel.Axpy(1, dInit.H[l*B*Hd:(l+1)*B*Hd], w.ds0)
	}
	for i, s := range w.s0 {
		w.ds0[i] *= 1 - s*s
	}
	w.dBIn = grow(w.dBIn, B*K)
	m.bridge.Backward(w.dBIn, w.ds0, w.bIn, B)
	L := cfg.EncLayers
	w.dFinal.H = grow(w.dFinal.H, L*2*B*He)
	clear(w.dFinal.H)
	fw := w.dFinal.H[(L-1)*2*B*He:]
	for b := 0; b < B; b++ {
		copy(fw[b*He:(b+1)*He], w.dBIn[b*K:b*K+He])
		copy(fw[B*He+b*He:B*He+(b+1)*He], w.dBIn[b*K+He:(b+1)*K])
	}
	w.dFinal.C = nil

	// encoder
	dKeys := w.mem.Finish()
	dx := w.encSeq.Backward(dKeys, &w.dFinal)
	w.srcDrop.Backward(dx, dx)
	m.srcEmb.Backward(dx[:S*B*E], bt.src)
}

func argmax(xs []float32) int32 {
	best, bi := xs[0], 0
	for i, v := range xs {
		if v > best {
			best, bi = v, i
		}
	}
	return int32(bi)
}
