package tokenize

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Rune is a character-level tokenizer: one token per Unicode code point.
// Its vocabulary is Specials followed by the corpus's runes in code point
// order; a rune outside it encodes as Unk.
type Rune struct {
	vocab
	ascii [utf8.RuneSelf]int32 // fast path for ASCII
	other map[rune]int32
}

// RuneOptions configures TrainRune.
type RuneOptions struct {
	// MinFreq drops runes seen fewer times (they encode as Unk). 0 or 1
	// keeps every rune.
	MinFreq int
}

// TrainRune builds a Rune tokenizer from every rune in r.
func TrainRune(r io.Reader, opts RuneOptions) (*Rune, error) {
	counts := map[rune]int{}
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		c, size, err := br.ReadRune()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tokenize: reading rune corpus: %w", err)
		}
		if c == utf8.RuneError && size == 1 {
			c = utf8.RuneError // invalid byte: counted as U+FFFD
		}
		counts[c]++
	}
	var runes []rune
	for c, n := range counts {
		if n >= opts.MinFreq {
			runes = append(runes, c)
		}
	}
	return NewRune(runes), nil
}

// NewRune builds a Rune tokenizer over the given alphabet (duplicates are
// ignored).
func NewRune(alphabet []rune) *Rune {
	rs := slices.Clone(alphabet)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	toks := append([]string(nil), Specials[:]...)
	for _, c := range rs {
		s := string(c)
		if slices.Contains(Specials[:], s) {
			continue
		}
		toks = append(toks, s)
	}
	return newRuneFromTokens(toks)
}

func newRuneFromTokens(toks []string) *Rune {
	t := &Rune{vocab: newVocab(toks), other: map[rune]int32{}}
	for i := range t.ascii {
		t.ascii[i] = Unk
	}
	for id, s := range toks[len(Specials):] {
		c, _ := utf8.DecodeRuneInString(s)
		id := int32(id + len(Specials))
		if c < utf8.RuneSelf {
			t.ascii[c] = id
		} else {
			t.other[c] = id
		}
	}
	return t
}

func (t *Rune) Kind() string { return "rune" }

func (t *Rune) lookup(c rune) int32 {
	if c < utf8.RuneSelf {
		return t.ascii[c]
	}
	if id, ok := t.other[c]; ok {
		return id
	}
	return Unk
}

func (t *Rune) Encode(text string) []int32 {
	text = Sanitize(text)
	ids := make([]int32, 0, len(text))
	forSegments(text, func(seg string, _ int) {
		for i := 0; i < len(seg); i++ {
			if b := seg[i]; b < utf8.RuneSelf {
				ids = append(ids, t.ascii[b])
				continue
			}
			c, size := utf8.DecodeRuneInString(seg[i:])
			ids = append(ids, t.lookup(c))
			i += size - 1
		}
	}, func(id int32, _ int) { ids = append(ids, id) })
	return ids
}

func (t *Rune) EncodeOffsets(text string) ([]int32, [][2]int) {
	text = Sanitize(text)
	var ids []int32
	var offs [][2]int
	forSegments(text, func(seg string, off int) {
		for i, c := range seg {
			ids = append(ids, t.lookup(c))
			offs = append(offs, [2]int{off + i, off + i + utf8.RuneLen(c)})
		}
	}, func(id int32, off int) {
		ids = append(ids, id)
		offs = append(offs, [2]int{off, off + len(Specials[id])})
	})
	return ids, offs
}

// Decode concatenates the tokens (Unk renders as "<unk>").
func (t *Rune) Decode(ids []int32) string {
	var b strings.Builder
	b.Grow(len(ids))
	for _, id := range ids {
		if id == Pad || id == BOS || id == EOS {
			continue
		}
		b.WriteString(t.Token(id))
	}
	return b.String()
}

// MarshalJSON writes a BPE model with no merges, no pre-tokenizer and the
// Fuse decoder: sugarme and HF read it as the same character tokenizer.
func (t *Rune) MarshalJSON() ([]byte, error) {
	return marshalFile(hfFile{
		Version:     "1.0",
		AddedTokens: specialsJSON(),
		Decoder:     map[string]string{"type": "Fuse"},
		Model:       bpeModelJSON{Type: "BPE", UnkToken: Specials[Unk], Vocab: orderedVocab(t.tokens), Merges: []string{}},
	})
}

// bpeModelJSON is the "model" object of a BPE tokenizer.json. Null fields
// are omitted: sugarme v0.3.0 panics on "dropout": null.
type bpeModelJSON struct {
	Type         string       `json:"type"`
	UnkToken     string       `json:"unk_token"`
	FuseUnk      bool         `json:"fuse_unk"`
	ByteFallback bool         `json:"byte_fallback"`
	Vocab        orderedVocab `json:"vocab"`
	Merges       []string     `json:"merges"`
}

var _ json.Marshaler = (*Rune)(nil)
