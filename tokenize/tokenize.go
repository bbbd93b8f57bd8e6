package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/internal/atomicfile"
)

// Special token ids, the same in every tokenizer this package builds.
const (
	Pad int32 = 0 // "<pad>"
	Unk int32 = 1 // "<unk>"
	BOS int32 = 2 // "<s>"
	EOS int32 = 3 // "</s>"
)

// Specials lists the special tokens in id order.
var Specials = [...]string{"<pad>", "<unk>", "<s>", "</s>"}

// Tokenizer turns text into token ids and back. Implementations are
// immutable and safe for concurrent use.
type Tokenizer interface {
	// Encode returns the ids of text; no special tokens are added.
	Encode(text string) []int32
	// EncodeOffsets also returns, per token, the byte range [start, end)
	// of text it came from.
	EncodeOffsets(text string) ([]int32, [][2]int)
	// Decode turns ids back into text, skipping <pad>, <s> and </s>.
	Decode(ids []int32) string
	// VocabSize is the number of ids, specials included.
	VocabSize() int
	// Token is the vocabulary entry of id ("" when out of range).
	Token(id int32) string
	// ID looks a vocabulary entry up.
	ID(token string) (int32, bool)
	// Kind is "rune", "word", "bpe" or "generic" (a file of another shape).
	Kind() string
	// MarshalJSON writes the HF tokenizer.json form.
	MarshalJSON() ([]byte, error)
}

// Sanitize replaces invalid UTF-8 by U+FFFD. Every Encode calls it first,
// so offsets index the sanitized text (the text itself when it is valid).
func Sanitize(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	return strings.ToValidUTF8(text, "\uFFFD")
}

// specialAt reports which special token starts text[i:], or -1.
func specialAt(text string, i int) int32 {
	if text[i] != '<' {
		return -1
	}
	rest := text[i:]
	for id, s := range Specials {
		if strings.HasPrefix(rest, s) {
			return int32(id)
		}
	}
	return -1
}

// forSegments splits text around literal special tokens, the way HF's added
// vocabulary does: fn gets each plain segment with its byte offset, and
// special tokens (id >= 0) with their range.
func forSegments(text string, plain func(seg string, off int), special func(id int32, off int)) {
	start := 0
	for {
		j := strings.IndexByte(text[start:], '<')
		if j < 0 {
			break
		}
		found := false
		for k := start + j; k < len(text); {
			id := specialAt(text, k)
			if id >= 0 {
				if k > start {
					plain(text[start:k], start)
				}
				special(id, k)
				start = k + len(Specials[id])
				found = true
				break
			}
			n := strings.IndexByte(text[k+1:], '<')
			if n < 0 {
				k = len(text)
			} else {
				k += 1 + n
			}
		}
		if !found {
			break
		}
	}
	if start < len(text) {
		plain(text[start:], start)
	}
}

// hfAdded is one entry of tokenizer.json's "added_tokens".
type hfAdded struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

func specialsJSON() []hfAdded {
	out := make([]hfAdded, len(Specials))
	for i, s := range Specials {
		out[i] = hfAdded{ID: int32(i), Content: s, Special: true}
	}
	return out
}

// hfFile is the top level of a HF tokenizer.json, fields in HF's order.
type hfFile struct {
	Version       string    `json:"version"`
	Truncation    any       `json:"truncation"`
	Padding       any       `json:"padding"`
	AddedTokens   []hfAdded `json:"added_tokens"`
	Normalizer    any       `json:"normalizer"`
	PreTokenizer  any       `json:"pre_tokenizer"`
	PostProcessor any       `json:"post_processor"`
	Decoder       any       `json:"decoder"`
	Model         any       `json:"model"`
}

// orderedVocab marshals as a JSON object in id order.
type orderedVocab []string

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for id, tok := range v {
		if id > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, tok)
		fmt.Fprintf(&b, ":%d", id)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// marshalFile renders f as compact JSON without HTML escaping, so that
// "<unk>" stays readable.
func marshalFile(f hfFile) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type normJSON struct {
	Type        string     `json:"type"`
	Normalizers []normJSON `json:"normalizers,omitempty"`
}

// normalizerJSON describes NFC and/or lowercasing, nil when neither.
func normalizerJSON(nfc, lower bool) any {
	var ns []normJSON
	if nfc {
		ns = append(ns, normJSON{Type: "NFC"})
	}
	if lower {
		ns = append(ns, normJSON{Type: "Lowercase"})
	}
	switch len(ns) {
	case 0:
		return nil
	case 1:
		return ns[0]
	}
	return normJSON{Type: "Sequence", Normalizers: ns}
}

// LoadFile reads a tokenizer.json file.
func LoadFile(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

// SaveFile writes t's tokenizer.json to path atomically (temporary file,
// fsync, rename).
func SaveFile(path string, t Tokenizer) error {
	data, err := t.MarshalJSON()
	if err != nil {
		return fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data)
}

// errNotOurs means a file is valid but not one of the shapes this package
// encodes natively; Load then falls back to the generic wrapper.
var errNotOurs = errors.New("not a native rnnkit tokenizer shape")
