package sentiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// NGramConfig is the optional linear n-gram branch of a classifier
// (Config.NGram): a logistic regression on the binary presence of the
// review's token n-grams, hashed into Buckets, whose weights were scaled by
// naive-Bayes log-count ratios when it was trained (NB-LR, after Wang and
// Manning's NBSVM, 2012). It reads the tokens of the whole review, where
// the recurrent part reads them cut to MaxLen.
// The model's class probabilities are the normalised product
//
//	p(c) ∝ p_rnn(c)^(1−Weight) · p_ngram(c)^Weight
//
// so the two parts' log-probabilities are averaged: the recurrent part
// reads word order and long-range context, the linear part remembers many
// exact phrases, and on long reviews each corrects the other (Mesnil et
// al. 2014 ensemble an RNN LM with NBSVM the same way).
type NGramConfig struct {
	N       int     `json:"n"`       // longest n-gram in tokens, 1 to MaxNGram
	Buckets int     `json:"buckets"` // hash buckets, a power of two
	Weight  float32 `json:"weight"`  // the n-gram part's share of the log-probabilities, in (0, 1)
}

// MaxNGram is the longest n-gram an NGramConfig may use.
const MaxNGram = 5

// Tensor names of the n-gram branch: weight is (R, Buckets) and bias (R),
// where R is 1 for two classes (the log-odds of the second class) and the
// number of classes otherwise (logits).
const (
	ngramWeight = "ngram.weight"
	ngramBias   = "ngram.bias"
)

// UnmarshalJSON reads an NGramConfig strictly, as the rest of a model's
// config is read: exactly the keys n, buckets and weight, spelled so.
func (c *NGramConfig) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("sentiment: ngram: %v", err)
	}
	fields := map[string]any{"n": &c.N, "buckets": &c.Buckets, "weight": &c.Weight}
	for k, v := range raw {
		dst, ok := fields[k]
		if !ok {
			return fmt.Errorf("sentiment: ngram: unknown key %q (want n, buckets and weight)", k)
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("sentiment: ngram %q: %v", k, err)
		}
	}
	for _, k := range []string{"n", "buckets", "weight"} {
		if _, ok := raw[k]; !ok {
			return fmt.Errorf("sentiment: ngram: key %q missing", k)
		}
	}
	return nil
}

func (c NGramConfig) validate() error {
	switch {
	case c.N < 1 || c.N > MaxNGram:
		return fmt.Errorf("sentiment: n-gram length %d must be 1 to %d", c.N, MaxNGram)
	case c.Buckets < 2 || c.Buckets > 1<<26 || c.Buckets&(c.Buckets-1) != 0:
		return fmt.Errorf("sentiment: n-gram buckets %d must be a power of two from 2 to 2^26", c.Buckets)
	case !(c.Weight > 0 && c.Weight < 1):
		return fmt.Errorf("sentiment: n-gram weight %v must be in (0, 1)", c.Weight)
	}
	return nil
}

// rows is R: one row of log-odds for two classes, one per class otherwise.
func ngramRows(classes int) int {
	if classes == 2 {
		return 1
	}
	return classes
}

// ngramFeatures appends to dst the distinct buckets of the n-grams of ids
// (1 to n tokens) and returns it sorted.
func ngramFeatures(dst []uint32, ids []int32, n, buckets int) []uint32 {
	shift := bucketShift(buckets)
	ngramEach(ids, n, func(key uint64) { dst = append(dst, bucketOfKey(key, shift)) })
	slices.Sort(dst)
	return slices.Compact(dst)
}

// ngramEach calls fn with the 64-bit key of every n-gram of ids of 1 to n
// tokens (with repeats). N-grams holding <pad>, as an occluded token is,
// are skipped. The key is FNV-1a over the ids' little-endian bytes with the
// n-gram's length in the top byte, so that lengths spread apart.
func ngramEach(ids []int32, n int, fn func(key uint64)) {
	for i := range ids {
		h := uint64(fnvOffset)
		for k := 0; k < n && i+k < len(ids); k++ {
			id := ids[i+k]
			if id == tokenize.Pad {
				break
			}
			h = fnvID(h, id)
			fn(h ^ uint64(k+1)<<56)
		}
	}
}

// bucketShift is 64 − log2(buckets), for bucketOfKey.
func bucketShift(buckets int) uint { return 64 - uint(bits.TrailingZeros(uint(buckets))) }

// bucketOfKey maps an n-gram key to its bucket by Fibonacci hashing (the
// top bits of the product with 2^64/φ).
func bucketOfKey(key uint64, shift uint) uint32 {
	return uint32((key * 0x9E3779B97F4A7C15) >> shift)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvID is FNV-1a over the four little-endian bytes of id.
func fnvID(h uint64, id int32) uint64 {
	u := uint32(id)
	for range 4 {
		h ^= uint64(u & 0xff)
		h *= fnvPrime
		u >>= 8
	}
	return h
}

// mixNGram turns the recurrent part's logits (len(batch), C) of the
// reviews in batch into the mixture's logits, in place: log-probabilities
// (1−w)·log p_rnn + w·log p_ngram, which a softmax normalises. Without an
// n-gram branch it does nothing.
func (m *Model) mixNGram(logits []float32, batch [][]int32) {
	if m.ngram == nil {
		return
	}
	C := len(m.Config.Labels)
	w := float64(m.Config.NGram.Weight)
	var feats []uint32
	z, lr, s := make([]float64, C), make([]float64, C), make([]float64, ngramRows(C))
	for b, ids := range batch {
		feats = ngramFeatures(feats[:0], ids, m.Config.NGram.N, m.Config.NGram.Buckets)
		m.ngramScores(z, s, feats)
		l := logits[b*C : (b+1)*C]
		lse := rnn.LogSumExp(l)
		for c := range l {
			lr[c] = float64(l[c]) - lse
		}
		for c := range l {
			l[c] = float32((1-w)*lr[c] + w*z[c])
		}
	}
}

// ngramScores writes the n-gram part's log-probabilities (C) for a
// review's features into z; s is scratch of ngramRows(C).
func (m *Model) ngramScores(z, s []float64, feats []uint32) {
	R, B := len(s), m.Config.NGram.Buckets
	W, bias := m.ngram.W, m.ngramB.W
	for r := range R {
		v := float64(bias[r])
		row := W[r*B : (r+1)*B]
		for _, f := range feats {
			v += float64(row[f])
		}
		s[r] = v
	}
	if R == 1 {
		// log σ(−s) and log σ(s), stably.
		z[0], z[1] = -softplus(s[0]), -softplus(-s[0])
		return
	}
	copy(z, s)
	lse := logSumExp(z)
	for c := range z {
		z[c] -= lse
	}
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func logSumExp(x []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

// MaxAutoBuckets is the most buckets AutoBuckets chooses: 2^21, which on
// IMDB's 600,000 n-grams of 3+ reviews scored as well as exact keys.
const MaxAutoBuckets = 1 << 21

// AutoBuckets is the bucket count for an n-gram branch with the given
// number of distinct n-grams: the power of two of at least four per
// n-gram (so that few of them share a bucket), from 1,024 to
// MaxAutoBuckets.
func AutoBuckets(features int) int {
	b := 1024
	for b < 4*features && b < MaxAutoBuckets {
		b *= 2
	}
	return b
}

// NGramOptions control TrainNGram. A zero Buckets is sized to the data
// (AutoBuckets).
type NGramOptions struct {
	NGramConfig
	// MinCount is how many training reviews an n-gram must occur in to get
	// a weight: rarer ones are noise that the hashing would spread over
	// other n-grams' buckets.
	MinCount int
	Epochs   int     // passes of Adagrad over the training reviews
	LR       float64 // Adagrad's learning rate
	L2       float64 // L2 penalty on the weights
	Seed     uint64  // the order of the reviews
}

// DefaultNGramOptions are the options the default model's branch was
// trained with: uni-, bi- and trigrams of at least 3 reviews, in buckets
// sized to them (2^21 on IMDB), one pass of Adagrad at 0.05, weight 0.5.
func DefaultNGramOptions() NGramOptions {
	return NGramOptions{NGramConfig: NGramConfig{N: 3, Weight: 0.5},
		MinCount: 3, Epochs: 1, LR: 0.05, L2: 1e-6, Seed: 1}
}

// Check reports the first option TrainNGram would refuse.
func (opt NGramOptions) Check() error {
	cfg := opt.NGramConfig
	if cfg.Buckets == 0 {
		cfg.Buckets = MaxAutoBuckets // sized to the data, never beyond this
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if opt.MinCount < 1 || opt.Epochs < 1 || !(opt.LR > 0) || math.IsInf(opt.LR, 0) || !(opt.L2 >= 0) || math.IsInf(opt.L2, 0) {
		return fmt.Errorf("sentiment: n-gram min count %d and epochs %d must be positive, learning rate %v positive and L2 %v not negative, both finite",
			opt.MinCount, opt.Epochs, opt.LR, opt.L2)
	}
	return nil
}

// NGramResult reports a TrainNGram run.
type NGramResult struct {
	Features int           // distinct n-grams that got a weight (MinCount and above)
	Buckets  int           // buckets in use
	Loss     float64       // mean training log-loss of the n-gram part alone in the last pass
	Elapsed  time.Duration // wall time
}

// maxNGramKeys bounds the distinct n-grams TrainNGram counts at once: past
// it, those seen in a single review so far are forgotten (so an n-gram of
// MinCount reviews can be missed on data of tens of millions of distinct
// n-grams; each counted key costs about 40 bytes).
const maxNGramKeys = 1 << 24

// TrainNGram fits an n-gram branch on the training reviews ex (whose
// labels index m.Config.Labels) and returns a copy of m with it, replacing
// any branch m had; m itself is not changed. The recurrent part's weights
// are shared with the copy (training neither reads nor writes them).
func (m *Model) TrainNGram(ctx context.Context, ex []Example, opt NGramOptions) (*Model, NGramResult, error) {
	start := time.Now()
	if err := opt.Check(); err != nil {
		return nil, NGramResult{}, err
	}
	sized := opt.Buckets == 0
	if len(ex) == 0 {
		return nil, NGramResult{}, errors.New("sentiment: no training reviews for the n-gram branch")
	}
	C := len(m.Config.Labels)
	for i, e := range ex {
		if e.Label < 0 || e.Label >= C {
			return nil, NGramResult{}, fmt.Errorf("sentiment: review %d has class %d; the model has %d", i+1, e.Label, C)
		}
	}
	keys, err := m.encodeKeys(ctx, ex, opt.N)
	if err != nil {
		return nil, NGramResult{}, err
	}
	// Document frequencies of the 64-bit keys; the kept ones give each
	// review its features.
	df := make(map[uint64]int32)
	for i, ks := range keys {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, NGramResult{}, ctx.Err()
		}
		for _, k := range ks {
			df[k]++
		}
		if len(df) > maxNGramKeys {
			for k, c := range df {
				if c == 1 {
					delete(df, k)
				}
			}
		}
	}
	var res NGramResult
	for _, c := range df {
		if int(c) >= opt.MinCount {
			res.Features++
		}
	}
	if sized {
		opt.Buckets = AutoBuckets(res.Features)
	}
	shift := bucketShift(opt.Buckets)
	feats := make([][]uint32, len(ex))
	used := make([]bool, opt.Buckets)
	for k, c := range df {
		if int(c) >= opt.MinCount {
			used[bucketOfKey(k, shift)] = true
		}
	}
	for i, ks := range keys {
		f := make([]uint32, 0, len(ks))
		for _, k := range ks {
			if int(df[k]) >= opt.MinCount {
				f = append(f, bucketOfKey(k, shift))
			}
		}
		slices.Sort(f)
		feats[i] = slices.Compact(f)
		keys[i] = nil
	}
	df = nil
	for _, u := range used {
		if u {
			res.Buckets++
		}
	}
	R, B := ngramRows(C), opt.Buckets
	ratio := nbRatios(ex, feats, R, B)
	w := make([]float64, R*B)
	g2 := make([]float64, R*B)
	bias, gb := make([]float64, R), make([]float64, R)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6e6772616d))
	z, g := make([]float64, max(R, C)), make([]float64, R)
	const eps = 1e-8
	for range opt.Epochs {
		var loss float64
		for n, i := range rng.Perm(len(ex)) {
			if n%4096 == 0 && ctx.Err() != nil {
				return nil, NGramResult{}, ctx.Err()
			}
			y := ex[i].Label
			for r := range R {
				v := bias[r]
				for _, f := range feats[i] {
					j := r*B + int(f)
					v += w[j] * ratio[j]
				}
				z[r] = v
			}
			if R == 1 {
				p := 1 / (1 + math.Exp(-z[0]))
				g[0] = p - float64(y)
				if y == 1 {
					loss += softplus(-z[0])
				} else {
					loss += softplus(z[0])
				}
			} else {
				lse := logSumExp(z[:R])
				loss += lse - z[y]
				for r := range R {
					g[r] = math.Exp(z[r] - lse)
				}
				g[y]--
			}
			for r := range R {
				for _, f := range feats[i] {
					j := r*B + int(f)
					d := g[r]*ratio[j] + opt.L2*w[j]
					g2[j] += d * d
					w[j] -= opt.LR * d / math.Sqrt(g2[j]+eps)
				}
				gb[r] += g[r] * g[r]
				bias[r] -= opt.LR * g[r] / math.Sqrt(gb[r]+eps)
			}
		}
		res.Loss = loss / float64(len(ex))
	}
	cfg := m.Config
	ng := opt.NGramConfig // Buckets as chosen
	cfg.NGram = &ng
	out, err := m.withConfig(cfg)
	if err != nil {
		return nil, NGramResult{}, err
	}
	for j := range w {
		out.ngram.W[j] = float32(w[j] * ratio[j])
	}
	for r := range bias {
		out.ngramB.W[r] = float32(bias[r])
	}
	res.Elapsed = time.Since(start)
	return out, res, nil
}

// WithoutNGram returns m without its n-gram branch (m itself when it has
// none), sharing nothing with m.
func (m *Model) WithoutNGram() (*Model, error) {
	if m.Config.NGram == nil {
		return m, nil
	}
	cfg := m.Config
	cfg.NGram = nil
	return m.withConfig(cfg)
}

// withConfig builds a model of cfg, which may differ from m's only in the
// n-gram branch, and copies m's other weights and metadata into it.
func (m *Model) withConfig(cfg Config) (*Model, error) {
	out, err := New(cfg, m.Tok)
	if err != nil {
		return nil, err
	}
	for _, p := range out.Params.List() {
		if q := m.Params.Get(p.Name); q != nil && len(q.W) == len(p.W) {
			copy(p.W, q.W)
		}
	}
	for k, v := range m.Meta {
		out.Meta[k] = v
	}
	return out, nil
}

// nbRatios returns the naive-Bayes log-count ratios (R, B) of the binary
// features: for row r, log of (the share of class r's feature counts in
// bucket j) over (the share of the other classes'), with add-one smoothing;
// for two classes, the one row is class 1 against class 0.
func nbRatios(ex []Example, feats [][]uint32, R, B int) []float64 {
	C := max(R, 2)
	counts := make([]float64, C*B)
	for i, e := range ex {
		row := counts[e.Label*B : (e.Label+1)*B]
		for _, f := range feats[i] {
			row[f]++
		}
	}
	totals := make([]float64, C)
	for c := range C {
		for _, v := range counts[c*B : (c+1)*B] {
			totals[c] += v + 1
		}
	}
	var all float64
	for _, t := range totals {
		all += t
	}
	ratio := make([]float64, R*B)
	for r := range R {
		pos := r
		if R == 1 {
			pos = 1
		}
		restTotal := all - totals[pos] - float64(C-2)*float64(B) // the rest's counts + 1 per bucket, once
		for j := range B {
			p := (counts[pos*B+j] + 1) / totals[pos]
			var q float64
			for c := range C {
				if c != pos {
					q += counts[c*B+j]
				}
			}
			q = (q + 1) / restTotal
			ratio[r*B+j] = math.Log(p / q)
		}
	}
	return ratio
}

// encodeKeys encodes each whole review (the branch reads it uncut) and returns its distinct
// n-gram keys, on every core.
func (m *Model) encodeKeys(ctx context.Context, ex []Example, n int) ([][]uint64, error) {
	keys := make([][]uint64, len(ex))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(ex)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ex); i += workers {
				if i%1024 == w && ctx.Err() != nil {
					return
				}
				var ks []uint64
				ngramEach(m.encodeAll(ex[i].Text), n, func(k uint64) { ks = append(ks, k) })
				slices.Sort(ks)
				keys[i] = slices.Compact(ks)
			}
		})
	}
	wg.Wait()
	return keys, ctx.Err()
}
