package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

type hfIn struct {
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        json.RawMessage `json:"model"`
}

type hfModelIn struct {
	Type                    string            `json:"type"`
	Vocab                   map[string]int    `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
	UnkToken                *string           `json:"unk_token"`
	Dropout                 *float64          `json:"dropout"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	ByteFallback            bool              `json:"byte_fallback"`
	FuseUnk                 bool              `json:"fuse_unk"`
}

type hfComponent struct {
	Type           string        `json:"type"`
	Normalizers    []hfComponent `json:"normalizers"`
	Pretokenizers  []hfComponent `json:"pretokenizers"`
	Behavior       string        `json:"behavior"`
	Replacement    string        `json:"replacement"`
	AddPrefixSpace *bool         `json:"add_prefix_space"`
	PrependScheme  *string       `json:"prepend_scheme"`
	Split          *bool         `json:"split"`
	Pattern        *struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Invert bool `json:"invert"`
}

// isOurOpenSplit reports the Split that BPEOptions.OpenMarks writes.
func isOurOpenSplit(c *hfComponent) bool {
	return c.Type == "Split" && c.Behavior == "Isolated" && !c.Invert && c.Pattern != nil &&
		c.Pattern.String == nil && c.Pattern.Regex != nil && *c.Pattern.Regex == openMarkPattern
}

func component(raw json.RawMessage) (*hfComponent, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Load parses tokenizer.json text. Files of the three shapes this package
// writes (rune, word, bpe, with specials at their fixed ids) load as *Rune,
// *Word or *BPE; any other file sugarme can read loads as a generic
// wrapper around sugarme (Kind "generic"), which is correct but slow.
func Load(data []byte) (Tokenizer, error) {
	var f hfIn
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	if err := checkHFShape(data); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	t, err := loadNative(&f)
	if err == nil {
		return t, nil
	}
	g, gerr := newGeneric(data)
	if gerr != nil {
		return nil, fmt.Errorf("cannot load tokenizer.json: %v", gerr)
	}
	return g, nil
}

// hfKeys are the top-level keys of a Hugging Face tokenizer.json.
var hfKeys = []string{"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"}

// checkHFShape checks what sugarme would otherwise meet with a log line, a
// panic or a log.Fatal (which exits the process): every top-level key is a
// tokenizer.json key (a misspelt "normaliser" would be dropped silently),
// the model is an object with a known "type" and a "vocab", and each
// component is null or an object with a "type".
func checkHFShape(data []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return err
	}
	if top == nil {
		return errors.New("the file holds null, not a JSON object")
	}
	for k := range top {
		if !slices.Contains(hfKeys, k) {
			return fmt.Errorf("unknown key %q (a tokenizer.json has the keys %s)", k, strings.Join(hfKeys, ", "))
		}
	}
	raw, ok := top["model"]
	if !ok || string(raw) == "null" {
		return errors.New(`no "model" object (it holds the vocabulary)`)
	}
	var model map[string]json.RawMessage
	if err := json.Unmarshal(raw, &model); err != nil || model == nil {
		return errors.New(`"model" is not a JSON object`)
	}
	var typ string
	if err := json.Unmarshal(model["type"], &typ); err != nil || typ == "" {
		return errors.New(`the "model" object has no "type" (BPE, WordPiece, WordLevel or Unigram)`)
	}
	if !slices.Contains([]string{"BPE", "WordPiece", "WordLevel", "Unigram"}, typ) {
		return fmt.Errorf(`unknown model type %q (want BPE, WordPiece, WordLevel or Unigram)`, typ)
	}
	if v, ok := model["vocab"]; !ok || string(v) == "null" {
		return fmt.Errorf(`the %s model has no "vocab"`, typ)
	}
	for _, k := range []string{"normalizer", "pre_tokenizer", "post_processor", "decoder"} {
		raw, ok := top[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var c struct {
			Type *string `json:"type"`
		}
		if err := json.Unmarshal(raw, &c); err != nil || c.Type == nil || *c.Type == "" {
			return fmt.Errorf(`%q must be null or an object with a "type"`, k)
		}
	}
	return nil
}

func loadNative(f *hfIn) (Tokenizer, error) {
	var m hfModelIn
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, err
	}
	if m.UnkToken == nil || *m.UnkToken != Specials[Unk] || m.ContinuingSubwordPrefix != nil ||
		m.EndOfWordSuffix != nil || m.ByteFallback || m.FuseUnk || (m.Dropout != nil && *m.Dropout != 0) {
		return nil, errNotOurs
	}
	toks, err := vocabFromMap(m.Vocab)
	if err != nil {
		return nil, errNotOurs
	}
	norm, err := component(f.Normalizer)
	if err != nil {
		return nil, err
	}
	nfc, lower, ok := parseNormalizer(norm)
	if !ok {
		return nil, errNotOurs
	}
	pre, err := component(f.PreTokenizer)
	if err != nil {
		return nil, err
	}
	dec, err := component(f.Decoder)
	if err != nil {
		return nil, err
	}
	switch m.Type {
	case "WordLevel":
		if pre == nil || (pre.Type != "BertPreTokenizer" && pre.Type != "WhitespaceSplit") {
			return nil, errNotOurs
		}
		return &Word{vocab: newVocab(toks), opts: WordOptions{Lowercase: lower, NFC: nfc, SplitPunct: pre.Type == "BertPreTokenizer"}}, nil
	case "BPE":
		if len(m.Merges) == 0 && pre == nil && norm == nil && dec != nil && dec.Type == "Fuse" {
			for _, s := range toks[len(Specials):] {
				if utf8.RuneCountInString(s) != 1 {
					return nil, errNotOurs
				}
			}
			return newRuneFromTokens(toks), nil
		}
		punct, open := false, false
		if pre != nil && pre.Type == "Sequence" && len(pre.Pretokenizers) == 3 && isOurOpenSplit(&pre.Pretokenizers[0]) {
			pre.Pretokenizers, open = pre.Pretokenizers[1:], true
		}
		if pre != nil && pre.Type == "Sequence" && len(pre.Pretokenizers) == 2 &&
			pre.Pretokenizers[1].Type == "Punctuation" && pre.Pretokenizers[1].Behavior == "Isolated" {
			pre, punct = &pre.Pretokenizers[0], true
		}
		if open && !punct {
			return nil, errNotOurs
		}
		if !isOurMetaspace(pre) || !isOurMetaspace(dec) || nfc {
			return nil, errNotOurs
		}
		merges, err := parseMerges(m.Merges, m.Vocab)
		if err != nil {
			return nil, errNotOurs
		}
		return newBPE(toks, merges, lower, punct, open)
	}
	return nil, errNotOurs
}

func parseNormalizer(c *hfComponent) (nfc, lower, ok bool) {
	if c == nil {
		return false, false, true
	}
	switch c.Type {
	case "NFC":
		return true, false, true
	case "Lowercase":
		return false, true, true
	case "Sequence":
		if len(c.Normalizers) == 1 {
			return parseNormalizer(&c.Normalizers[0])
		}
		if len(c.Normalizers) == 2 && c.Normalizers[0].Type == "NFC" && c.Normalizers[1].Type == "Lowercase" {
			return true, true, true
		}
	}
	return false, false, false
}

func isOurMetaspace(c *hfComponent) bool {
	if c == nil || c.Type != "Metaspace" || c.Replacement != metaspace || (c.Split != nil && !*c.Split) {
		return false
	}
	if c.PrependScheme != nil {
		return strings.EqualFold(*c.PrependScheme, "always")
	}
	return c.AddPrefixSpace != nil && *c.AddPrefixSpace
}

// parseMerges accepts "a b" strings and ["a", "b"] pairs.
func parseMerges(raw []json.RawMessage, v map[string]int) ([][2]int32, error) {
	out := make([][2]int32, 0, len(raw))
	for i, r := range raw {
		var a, b string
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			var ok bool
			a, b, ok = strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d %q: want two tokens", i, s)
			}
		} else {
			var p []string
			if err := json.Unmarshal(r, &p); err != nil || len(p) != 2 {
				return nil, fmt.Errorf("merge %d: want \"a b\" or [a, b]", i)
			}
			a, b = p[0], p[1]
		}
		ia, oka := v[a]
		ib, okb := v[b]
		if !oka || !okb {
			return nil, fmt.Errorf("merge %d: %q or %q not in vocab", i, a, b)
		}
		out = append(out, [2]int32{int32(ia), int32(ib)})
	}
	return out, nil
}

// Generic wraps any tokenizer.json that sugarme reads. Its specials are
// wherever that file puts them; Decode skips all special tokens. It is
// sugarme's speed (about 0.1 MB/s).
type Generic struct {
	tk   *tokenizer.Tokenizer
	data []byte
}

func newGeneric(data []byte) (g *Generic, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sugarme panicked: %v", r)
		}
	}()
	tk, err := pretrained.FromReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return &Generic{tk: tk, data: bytes.Clone(data)}, nil
}

func (g *Generic) Kind() string { return "generic" }

func (g *Generic) EncodeOffsets(text string) (ids []int32, offs [][2]int) {
	text = Sanitize(text)
	defer func() {
		if r := recover(); r != nil {
			ids, offs = nil, nil
		}
	}()
	en, err := g.tk.EncodeSingle(text)
	if err != nil {
		return nil, nil
	}
	ids = make([]int32, len(en.Ids))
	offs = make([][2]int, len(en.Ids))
	for i, id := range en.Ids {
		ids[i] = int32(id)
		if i < len(en.Offsets) && len(en.Offsets[i]) == 2 {
			offs[i] = [2]int{en.Offsets[i][0], en.Offsets[i][1]}
		}
	}
	return ids, offs
}

func (g *Generic) Encode(text string) []int32 {
	ids, _ := g.EncodeOffsets(text)
	return ids
}

func (g *Generic) Decode(ids []int32) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = ""
		}
	}()
	in := make([]int, len(ids))
	for i, id := range ids {
		in[i] = int(id)
	}
	return g.tk.Decode(in, true)
}

func (g *Generic) VocabSize() int { return g.tk.GetVocabSize(true) }

func (g *Generic) Token(id int32) string {
	s, _ := g.tk.IdToToken(int(id))
	return s
}

func (g *Generic) ID(token string) (int32, bool) {
	id, ok := g.tk.TokenToId(token)
	return int32(id), ok
}

// MarshalJSON returns the file as it was loaded.
func (g *Generic) MarshalJSON() ([]byte, error) { return bytes.Clone(g.data), nil }
