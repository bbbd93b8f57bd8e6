package tokenize

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// metaspace is the "▁" that stands for a space in BPE tokens.
const metaspace = "▁"

// BPE is a byte-pair-encoding tokenizer over Metaspace pre-tokens: ASCII
// whitespace (\t \n \f \r and space) becomes "▁", a "▁" is prepended, and
// the text is split before every "▁"; each piece starts as its runes and
// merges are applied by rank. It reproduces sugarme's encoding of the same
// tokenizer.json id for id (including its order among equal-rank merges in
// one word, e.g. "000"), at a per-piece cache's speed.
type BPE struct {
	vocab
	lower  bool
	punct  bool       // isolate punctuation after Metaspace (see BPEOptions.SplitPunct)
	open   bool       // ¡ and ¿ start words (see BPEOptions.OpenMarks)
	merges [][2]int32 // rank order
	rank   map[uint64]mergeVal
	ascii  [utf8.RuneSelf]int32
	other  map[rune]int32

	cache     sync.Map // piece -> *bpePiece
	cacheSize atomic.Int64
}

type mergeVal struct{ rank, id int32 }

// bpePiece is the encoding of one pre-token: ids and their byte lengths in
// the piece (whose leading "▁" counts 3 bytes).
type bpePiece struct {
	ids  []int32
	lens []int32
}

const maxCache = 1 << 18

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newBPE builds the tables from an id-ordered vocabulary and rank-ordered
// merges.
func newBPE(toks []string, merges [][2]int32, lower, punct, open bool) (*BPE, error) {
	if open && !punct {
		return nil, fmt.Errorf("tokenize: opening marks as words (OpenMarks) need punctuation isolation (SplitPunct)")
	}
	t := &BPE{vocab: newVocab(toks), lower: lower, punct: punct, open: open, merges: merges,
		rank: make(map[uint64]mergeVal, len(merges)), other: map[rune]int32{}}
	for i := range t.ascii {
		t.ascii[i] = Unk
	}
	for id, s := range toks {
		if id < len(Specials) {
			continue
		}
		if c, n := utf8.DecodeRuneInString(s); n == len(s) {
			if c < utf8.RuneSelf {
				t.ascii[c] = int32(id)
			} else {
				t.other[c] = int32(id)
			}
		}
	}
	for r, m := range merges {
		if m[0] < 0 || int(m[0]) >= len(toks) || m[1] < 0 || int(m[1]) >= len(toks) {
			return nil, fmt.Errorf("merge %d: id out of range", r)
		}
		joined := toks[m[0]] + toks[m[1]]
		id, ok := t.ids[joined]
		if !ok {
			return nil, fmt.Errorf("merge %d %q %q: %q is not in the vocab", r, toks[m[0]], toks[m[1]], joined)
		}
		k := pairKey(m[0], m[1])
		if _, dup := t.rank[k]; !dup {
			t.rank[k] = mergeVal{int32(r), id}
		}
	}
	return t, nil
}

func (t *BPE) Kind() string { return "bpe" }

// Merges returns the merges in rank order as token pairs.
func (t *BPE) Merges() [][2]string {
	out := make([][2]string, len(t.merges))
	for i, m := range t.merges {
		out[i] = [2]string{t.tokens[m[0]], t.tokens[m[1]]}
	}
	return out
}

func (t *BPE) runeID(c rune) int32 {
	if c < utf8.RuneSelf {
		return t.ascii[c]
	}
	if id, ok := t.other[c]; ok {
		return id
	}
	return Unk
}

// isMetaSpace reports ASCII whitespace as Go's regexp \s (sugarme's
// Metaspace pattern) sees it.
func isMetaSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\f' || b == '\r'
}

// forPieces calls fn with each Metaspace piece of s: its key ("▁" + the
// text up to the next boundary), its byte range in s, and w0, the width in s
// of its leading "▁" (0 when prepended, 1 for a whitespace byte, 3 for a
// literal "▁"). buf is scratch space for the key.
func forPieces(s string, buf []byte, fn func(key []byte, start, end, w0 int)) []byte {
	if len(s) == 0 {
		return buf
	}
	// boundary reports the width of the "▁" starting at s[i], or 0.
	boundary := func(i int) int {
		if isMetaSpace(s[i]) {
			return 1
		}
		if s[i] == 0xe2 && strings.HasPrefix(s[i:], metaspace) {
			return 3
		}
		return 0
	}
	start, w0 := 0, boundary(0)
	i := w0
	if w0 == 0 {
		// prepended "▁"
	}
	for i < len(s) {
		w := boundary(i)
		if w == 0 {
			i++
			continue
		}
		buf = append(append(buf[:0], metaspace...), s[start+w0:i]...)
		fn(buf, start, i, w0)
		start, w0 = i, w
		i += w
	}
	buf = append(append(buf[:0], metaspace...), s[start+w0:]...)
	fn(buf, start, len(s), w0)
	return buf
}

// piece is one pre-token handed to the merges: key is its text, with a
// leading "▁" when meta. Key byte k maps to text byte origin+k-3 of the
// piece's segment when meta (and byte 0, the "▁" itself, to at), or to
// origin+k when not.
type piece struct {
	key        []byte
	meta       bool
	origin, at int
}

// isOpenMark reports the opening marks that BPEOptions.OpenMarks sets apart.
func isOpenMark(c rune) bool { return c == '¡' || c == '¿' }

// openMarkPattern is the HF Split pattern that matches what
// forPretokens does with open: each opening mark, with the whitespace
// before it, is a part of its own.
const openMarkPattern = "[ \\t\\n\\f\\r]*[¡¿]"

// forPretokens calls fn with each pre-token of s: the Metaspace pieces of
// forPieces, each split further, when punct is set, into runs of
// non-punctuation and single punctuation runes (HF's Sequence of Metaspace
// and Punctuation "Isolated"): "▁¿Dónde" gives "▁", "¿", "Dónde". With
// open, s is first cut before and after each ¡ and ¿ (an HF Split with
// openMarkPattern, "Isolated", ahead of the Metaspace), so the word after
// one starts with "▁" like any other: "¿Dónde" gives "▁", "¿", "▁Dónde".
func forPretokens(s string, buf []byte, punct, open bool, fn func(p piece)) []byte {
	if !open {
		return forPunctPieces(s, buf, punct, fn)
	}
	part := func(a, b int) {
		buf = forPunctPieces(s[a:b], buf, punct, func(p piece) {
			p.origin += a
			p.at += a
			fn(p)
		})
	}
	base := 0
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		if !isOpenMark(c) {
			i += n
			continue
		}
		j := i
		for j > base && isMetaSpace(s[j-1]) {
			j--
		}
		if j > base {
			part(base, j)
		}
		part(j, i+n)
		base = i + n
		i = base
	}
	if base < len(s) {
		part(base, len(s))
	}
	return buf
}

// forPunctPieces is forPretokens without opening marks.
func forPunctPieces(s string, buf []byte, punct bool, fn func(p piece)) []byte {
	return forPieces(s, buf, func(key []byte, start, _, w0 int) {
		origin := start + w0
		if !punct {
			fn(piece{key: key, meta: true, origin: origin, at: start})
			return
		}
		// a is the start of the current run in key; k walks the runes after "▁".
		a, k := 0, len(metaspace)
		for k < len(key) {
			c, n := utf8.DecodeRune(key[k:])
			if !isPunct(c) {
				k += n
				continue
			}
			if k > a {
				fn(runPiece(key, a, k, origin, start))
			}
			fn(runPiece(key, k, k+n, origin, start))
			k += n
			a = k
		}
		if k > a {
			fn(runPiece(key, a, k, origin, start))
		}
	})
}

// runPiece is key[a:b] as a piece; only a run at a == 0 holds the "▁".
func runPiece(key []byte, a, b, origin, at int) piece {
	if a == 0 {
		return piece{key: key[:b], meta: true, origin: origin, at: at}
	}
	return piece{key: key[a:b], origin: origin + a - len(metaspace), at: at}
}

// piece encodes one pre-token, through the cache.
func (t *BPE) piece(key []byte) *bpePiece {
	if v, ok := t.cache.Load(string(key)); ok {
		return v.(*bpePiece)
	}
	p := t.mergeWord(string(key))
	if t.cacheSize.Load() < maxCache {
		if _, loaded := t.cache.LoadOrStore(string(key), p); !loaded {
			t.cacheSize.Add(1)
		}
	}
	return p
}

// symbol and mergeItem mirror sugarme's bpe.Symbol and bpe.Merge.
type symbol struct {
	c, prev, next, len int32
}

type mergeItem struct{ pos, rank, id int32 }

// mergeWord applies the merges to word exactly as sugarme v0.3.0's
// Word.MergeAll does: a binary heap (gods' algorithm) ordered by rank
// alone, so ties between positions resolve as that heap resolves them.
func (t *BPE) mergeWord(word string) *bpePiece { return t.mergeWordDrop(word, 0, nil) }

// mergeWordDrop is mergeWord with BPE-dropout (Provilkov et al. 2020, as
// Hugging Face tokenizers implements it): each merge taken from the heap is
// skipped with probability drop, and the skipped ones return to the heap after
// the next merge that is applied. With r nil it is mergeWord.
func (t *BPE) mergeWordDrop(word string, drop float64, r *rand.Rand) *bpePiece {
	syms := make([]symbol, 0, len(word))
	for _, c := range word {
		n := int32(len(syms))
		syms = append(syms, symbol{c: t.runeID(c), prev: n - 1, next: n + 1, len: int32(utf8.RuneLen(c))})
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	var heap []mergeItem
	push := func(m mergeItem) {
		heap = append(heap, m)
		for i := len(heap) - 1; i > 0; {
			p := (i - 1) >> 1
			if heap[p].rank <= heap[i].rank {
				break
			}
			heap[p], heap[i] = heap[i], heap[p]
			i = p
		}
	}
	pop := func() mergeItem {
		top := heap[0]
		last := len(heap) - 1
		heap[0], heap[last] = heap[last], heap[0]
		heap = heap[:last]
		for i := 0; ; {
			l := 2*i + 1
			if l >= len(heap) {
				break
			}
			s := l
			if r := l + 1; r < len(heap) && heap[l].rank > heap[r].rank {
				s = r
			}
			if heap[i].rank > heap[s].rank {
				heap[i], heap[s] = heap[s], heap[i]
				i = s
			} else {
				break
			}
		}
		return top
	}
	for i := 0; i+1 < len(syms); i++ {
		if m, ok := t.rank[pairKey(syms[i].c, syms[i+1].c)]; ok {
			push(mergeItem{int32(i), m.rank, m.id})
		}
	}
	var skipped []mergeItem
	for len(heap) > 0 {
		top := pop()
		if r != nil && r.Float64() < drop {
			skipped = append(skipped, top)
			continue
		}
		for _, m := range skipped {
			push(m)
		}
		skipped = skipped[:0]
		cur := &syms[top.pos]
		if cur.len == 0 || cur.next == -1 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		m, ok := t.rank[pairKey(cur.c, right.c)]
		if !ok || m.id != top.id {
			continue
		}
		cur.c = top.id
		cur.len += right.len
		cur.next = right.next
		syms[nextPos].len = 0
		if right.next > -1 && int(right.next) < len(syms) {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if m, ok := t.rank[pairKey(syms[cur.prev].c, cur.c)]; ok {
				push(mergeItem{cur.prev, m.rank, m.id})
			}
		}
		if cur.next > -1 && int(cur.next) < len(syms) {
			if m, ok := t.rank[pairKey(cur.c, syms[cur.next].c)]; ok {
				push(mergeItem{top.pos, m.rank, m.id})
			}
		}
	}
	p := &bpePiece{}
	for _, s := range syms {
		if s.len != 0 {
			p.ids = append(p.ids, s.c)
			p.lens = append(p.lens, s.len)
		}
	}
	return p
}

// encode runs the pipeline; offs is nil unless wanted.
func (t *BPE) encode(text string, wantOffs bool) ([]int32, [][2]int) {
	return t.encodeWith(text, wantOffs, t.piece)
}

// EncodeDropout encodes text with BPE-dropout: every merge is skipped with
// probability p (drawn from r), so a word comes out in one of its finer
// segmentations, each of whose tokens is in the vocabulary. Training on
// such encodings (subword regularisation) teaches a model the pieces of
// rare words. p <= 0 or r nil is Encode.
func (t *BPE) EncodeDropout(text string, p float64, r *rand.Rand) []int32 {
	if p <= 0 || r == nil {
		return t.Encode(text)
	}
	ids, _ := t.encodeWith(text, false, func(key []byte) *bpePiece { return t.mergeWordDrop(string(key), p, r) })
	return ids
}

func (t *BPE) encodeWith(text string, wantOffs bool, enc func([]byte) *bpePiece) ([]int32, [][2]int) {
	text = Sanitize(text)
	ids := make([]int32, 0, len(text)/3+1)
	var offs [][2]int
	var buf []byte
	forSegments(text, func(seg string, off int) {
		nt := normText{s: seg, origLen: len(seg)}
		if t.lower {
			nt = normalize(seg, false, true)
		}
		buf = forPretokens(nt.s, buf, t.punct, t.open, func(pc piece) {
			p := enc(pc.key)
			ids = append(ids, p.ids...)
			if !wantOffs {
				return
			}
			// at maps key byte k to a byte of the segment.
			at := func(k int) int {
				if !pc.meta {
					return pc.origin + k
				}
				if k < 3 {
					return pc.at
				}
				return pc.origin + k - 3
			}
			k := 0
			for _, l := range p.lens {
				a, b := at(k), at(k+int(l))
				oa, ob := nt.orig(a, b)
				offs = append(offs, [2]int{off + oa, off + ob})
				k += int(l)
			}
		})
	}, func(id int32, off int) {
		ids = append(ids, id)
		if wantOffs {
			offs = append(offs, [2]int{off, off + len(Specials[id])})
		}
	})
	return ids, offs
}

func (t *BPE) Encode(text string) []int32 {
	ids, _ := t.encode(text, false)
	return ids
}

func (t *BPE) EncodeOffsets(text string) ([]int32, [][2]int) {
	return t.encode(text, true)
}

// Decode concatenates the tokens, turns "▁" into spaces and drops the
// prepended one (HF's Metaspace decoder). With OpenMarks it also drops the
// "▁" that encoding put after ¡ and ¿, so "¡Hola!" decodes as itself where
// HF's decoder (tokenizer.json) gives "¡ Hola!". Unk renders as "<unk>".
func (t *BPE) Decode(ids []int32) string {
	var b strings.Builder
	first, afterMark := true, false
	for _, id := range ids {
		if id == Pad || id == BOS || id == EOS {
			continue
		}
		tok := t.Token(id)
		if (first || (t.open && afterMark)) && strings.HasPrefix(tok, metaspace) {
			tok = tok[len(metaspace):]
		}
		first = false
		if t.open && tok != "" {
			last, _ := utf8.DecodeLastRuneInString(tok)
			afterMark = isOpenMark(last)
		}
		b.WriteString(strings.ReplaceAll(tok, metaspace, " "))
	}
	return b.String()
}

var metaspaceJSON = map[string]any{"type": "Metaspace", "replacement": metaspace,
	"add_prefix_space": true, "prepend_scheme": "always", "split": true}

// punctPreJSON is Metaspace followed by punctuation isolation.
var punctPreJSON = map[string]any{"type": "Sequence", "pretokenizers": []any{
	metaspaceJSON, map[string]any{"type": "Punctuation", "behavior": "Isolated"}}}

// punctOpenPreJSON is punctPreJSON after the Split of BPEOptions.OpenMarks.
var punctOpenPreJSON = map[string]any{"type": "Sequence", "pretokenizers": []any{
	map[string]any{"type": "Split", "pattern": map[string]any{"Regex": openMarkPattern}, "behavior": "Isolated", "invert": false},
	metaspaceJSON, map[string]any{"type": "Punctuation", "behavior": "Isolated"}}}

// SplitsPunct reports whether punctuation is isolated from words.
func (t *BPE) SplitsPunct() bool { return t.punct }

// OpensMarks reports whether the word after ¡ or ¿ starts with "▁"
// (BPEOptions.OpenMarks).
func (t *BPE) OpensMarks() bool { return t.open }

// MarshalJSON writes a BPE model with the Metaspace pre-tokenizer and
// decoder (and the Lowercase normalizer when trained lowercased).
func (t *BPE) MarshalJSON() ([]byte, error) {
	merges := make([]string, len(t.merges))
	for i, m := range t.merges {
		merges[i] = t.tokens[m[0]] + " " + t.tokens[m[1]]
	}
	var pre any = metaspaceJSON
	if t.open {
		pre = punctOpenPreJSON
	} else if t.punct {
		pre = punctPreJSON
	}
	return marshalFile(hfFile{
		Version:      "1.0",
		AddedTokens:  specialsJSON(),
		Normalizer:   normalizerJSON(false, t.lower),
		PreTokenizer: pre,
		Decoder:      metaspaceJSON,
		Model:        bpeModelJSON{Type: "BPE", UnkToken: Specials[Unk], Vocab: orderedVocab(t.tokens), Merges: merges},
	})
}

var _ json.Marshaler = (*BPE)(nil)
