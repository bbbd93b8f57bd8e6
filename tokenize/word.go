package tokenize

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Word is a word-level tokenizer. Text is optionally NFC-normalised and
// lowercased, split on Unicode whitespace and (with SplitPunct) around every
// punctuation character, exactly like HF's BertPreTokenizer; each piece is
// looked up whole, Unk when absent.
type Word struct {
	vocab
	opts WordOptions
}

// WordOptions configures TrainWord.
type WordOptions struct {
	Lowercase  bool // lowercase before splitting
	NFC        bool // NFC-normalise before splitting
	SplitPunct bool // isolate punctuation (BertPreTokenizer); else split on whitespace only
	MinFreq    int  // drop words seen fewer times; 0 means 1
	MaxVocab   int  // cap on the vocabulary size, specials included; 0 means no cap
}

// TrainWord counts the words of r (read line by line) and keeps the most
// frequent ones: count descending, then string ascending, so the result is
// deterministic.
func TrainWord(r io.Reader, opts WordOptions) (*Word, error) {
	t := &Word{opts: opts}
	counts, err := t.Counts(r)
	if err != nil {
		return nil, err
	}
	minFreq := int64(max(opts.MinFreq, 1))
	toks := append([]string(nil), Specials[:]...)
	for _, c := range sortCounts(counts) {
		if opts.MaxVocab > 0 && len(toks) >= opts.MaxVocab {
			break
		}
		if c.n < minFreq {
			break
		}
		if _, special := specialID(c.tok); special {
			continue
		}
		toks = append(toks, c.tok)
	}
	t.vocab = newVocab(toks)
	return t, nil
}

// WithTokens returns a tokenizer with t's options and the vocabulary
// tokens (id order), which must start with Specials and hold no duplicate:
// for example t's vocabulary with some words replaced.
func (t *Word) WithTokens(tokens []string) (*Word, error) {
	if len(tokens) < len(Specials) {
		return nil, fmt.Errorf("tokenize: a vocabulary of %d tokens lacks the %d special tokens", len(tokens), len(Specials))
	}
	seen := make(map[string]bool, len(tokens))
	for i, tok := range tokens {
		if i < len(Specials) && tok != Specials[i] {
			return nil, fmt.Errorf("tokenize: token %d is %q, want the special token %q", i, tok, Specials[i])
		}
		if seen[tok] {
			return nil, fmt.Errorf("tokenize: token %q appears twice in the vocabulary", tok)
		}
		seen[tok] = true
	}
	return &Word{vocab: newVocab(append([]string(nil), tokens...)), opts: t.opts}, nil
}

// Counts counts the words of r (read line by line) as t splits them,
// whether or not t's vocabulary has them.
func (t *Word) Counts(r io.Reader) (map[string]int64, error) {
	counts := map[string]int64{}
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			t.words(Sanitize(line), func(w string, _, _ int) {
				counts[w]++
			})
		}
		if err == io.EOF {
			return counts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("tokenize: reading word corpus: %w", err)
		}
	}
}

func specialID(s string) (int32, bool) {
	for i, sp := range Specials {
		if s == sp {
			return int32(i), true
		}
	}
	return -1, false
}

// Options returns the options the tokenizer splits with (MinFreq and
// MaxVocab are zero after Load).
func (t *Word) Options() WordOptions { return t.opts }

func (t *Word) Kind() string { return "word" }

// isPunct is HF's is_bert_punc: ASCII punctuation or Unicode category P.
func isPunct(c rune) bool {
	if c < utf8.RuneSelf {
		return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
	}
	return unicode.IsPunct(c)
}

// words calls fn with each pre-token of text (special tokens not split
// out) and its byte range in text.
func (t *Word) words(text string, fn func(w string, start, end int)) {
	nt := normalize(text, t.opts.NFC, t.opts.Lowercase)
	s := nt.s
	emit := func(a, b int) {
		oa, ob := nt.orig(a, b)
		fn(s[a:b], oa, ob)
	}
	wstart := -1
	for i, c := range s {
		switch {
		case unicode.IsSpace(c):
			if wstart >= 0 {
				emit(wstart, i)
				wstart = -1
			}
		case t.opts.SplitPunct && isPunct(c):
			if wstart >= 0 {
				emit(wstart, i)
				wstart = -1
			}
			emit(i, i+utf8.RuneLen(c))
		default:
			if wstart < 0 {
				wstart = i
			}
		}
	}
	if wstart >= 0 {
		emit(wstart, len(s))
	}
}

func (t *Word) lookup(w string) int32 {
	if id, ok := t.ids[w]; ok {
		return id
	}
	return Unk
}

func (t *Word) Encode(text string) []int32 {
	text = Sanitize(text)
	var ids []int32
	forSegments(text, func(seg string, _ int) {
		t.words(seg, func(w string, _, _ int) { ids = append(ids, t.lookup(w)) })
	}, func(id int32, _ int) { ids = append(ids, id) })
	return ids
}

func (t *Word) EncodeOffsets(text string) ([]int32, [][2]int) {
	text = Sanitize(text)
	var ids []int32
	var offs [][2]int
	forSegments(text, func(seg string, off int) {
		t.words(seg, func(w string, a, b int) {
			ids = append(ids, t.lookup(w))
			offs = append(offs, [2]int{off + a, off + b})
		})
	}, func(id int32, off int) {
		ids = append(ids, id)
		offs = append(offs, [2]int{off, off + len(Specials[id])})
	})
	return ids, offs
}

// noSpaceBefore and noSpaceAfter drive Decode's detokenisation.
var (
	noSpaceBefore = map[string]bool{".": true, ",": true, ";": true, ":": true, "!": true, "?": true,
		")": true, "]": true, "}": true, "»": true, "…": true, "%": true, "”": true, "’": true}
	noSpaceAfter = map[string]bool{"¿": true, "¡": true, "(": true, "[": true, "{": true, "«": true,
		"“": true, "‘": true}
	contractions = map[string]bool{"s": true, "t": true, "m": true, "d": true, "re": true, "ve": true, "ll": true}
)

// Decode joins words with single spaces, except none before closing
// punctuation (. , ; : ! ? ) » …), none after opening punctuation
// (¿ ¡ ( «), none around the apostrophe of an English contraction
// ("don't"), around a hyphen between words, or inside "double quotes".
// Unk renders as "<unk>".
func (t *Word) Decode(ids []int32) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == Pad || id == BOS || id == EOS {
			continue
		}
		toks = append(toks, t.Token(id))
	}
	var b strings.Builder
	quoteOpen := false
	glueNext := false
	for i, tok := range toks {
		space := i > 0 && !glueNext
		glueNext = false
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch {
		case noSpaceBefore[tok]:
			space = false
		case noSpaceAfter[tok]:
			glueNext = true
		case tok == `"`:
			if quoteOpen {
				space = false
			} else {
				glueNext = true
			}
			quoteOpen = !quoteOpen
		case (tok == "'" || tok == "’") && i > 0 && endsWithLetter(toks[i-1]) && contractions[strings.ToLower(next)]:
			space, glueNext = false, true
		case tok == "-" && i > 0 && endsWithLetter(toks[i-1]) && startsWithLetter(next):
			space, glueNext = false, true
		}
		if space {
			b.WriteByte(' ')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func endsWithLetter(s string) bool {
	c, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsLetter(c) || unicode.IsDigit(c)
}

func startsWithLetter(s string) bool {
	c, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(c) || unicode.IsDigit(c)
}

type wordModelJSON struct {
	Type     string       `json:"type"`
	Vocab    orderedVocab `json:"vocab"`
	UnkToken string       `json:"unk_token"`
}

// MarshalJSON writes a WordLevel model with the BertPreTokenizer (or
// WhitespaceSplit without SplitPunct) and the NFC/Lowercase normalizers.
func (t *Word) MarshalJSON() ([]byte, error) {
	pre := map[string]string{"type": "WhitespaceSplit"}
	if t.opts.SplitPunct {
		pre["type"] = "BertPreTokenizer"
	}
	return marshalFile(hfFile{
		Version:      "1.0",
		AddedTokens:  specialsJSON(),
		Normalizer:   normalizerJSON(t.opts.NFC, t.opts.Lowercase),
		PreTokenizer: pre,
		Model:        wordModelJSON{Type: "WordLevel", Vocab: orderedVocab(t.tokens), UnkToken: Specials[Unk]},
	})
}

var _ json.Marshaler = (*Word)(nil)
