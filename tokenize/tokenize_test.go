package tokenize

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/sugarme/tokenizer/pretrained"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

const spanish = "¿Dónde está el niño? ¡Qué año!"

// corpus is a small mixed corpus the tests train on.
var corpus = strings.Join([]string{
	spanish,
	"El niño comió una manzana. La niña bebió agua.",
	"¿Dónde está la estación? Está allí, al lado del año nuevo.",
	"I don't know where the station is. Tom's dog is happy!",
	"«Hola», dijo él (sin prisa): 1000 y 2000 son números; 3000 también.",
	"我爱北京天安门 。 你好 世界",
	"Good job 👍 and 🎉 party time 👍",
	"aaa aaaa aaaaa bbb año año años añoranza",
	"The quick brown fox jumps over the lazy dog.",
	"El perro marrón salta sobre el zorro perezoso.",
}, "\n") + "\n"

func trainAll(t testing.TB) map[string]Tokenizer {
	t.Helper()
	r, err := TrainRune(strings.NewReader(corpus), RuneOptions{})
	require.NoError(t, err)
	w, err := TrainWord(strings.NewReader(corpus), WordOptions{SplitPunct: true})
	require.NoError(t, err)
	wl, err := TrainWord(strings.NewReader(corpus), WordOptions{SplitPunct: true, Lowercase: true, NFC: true})
	require.NoError(t, err)
	b, err := TrainBPE(strings.NewReader(corpus), BPEOptions{VocabSize: 300, MinFreq: 2})
	require.NoError(t, err)
	bl, err := TrainBPE(strings.NewReader(corpus), BPEOptions{VocabSize: 300, MinFreq: 2, Lowercase: true})
	require.NoError(t, err)
	bp, err := TrainBPE(strings.NewReader(corpus), BPEOptions{VocabSize: 300, MinFreq: 2, SplitPunct: true})
	require.NoError(t, err)
	return map[string]Tokenizer{"rune": r, "word": w, "word-lower-nfc": wl, "bpe": b, "bpe-lower": bl, "bpe-punct": bp}
}

func TestRoundTrip(t *testing.T) {
	toks := trainAll(t)
	texts := []string{
		spanish,
		"El niño comió una manzana.",
		"我爱北京天安门",
		"Good job 👍 and 🎉",
		"«Hola», dijo él (sin prisa): 1000 y 2000.",
		"aaa aaaa aaaaa",
	}
	for name, tk := range toks {
		for _, text := range texts {
			t.Run(name+"/"+text, func(t *testing.T) {
				got := tk.Decode(tk.Encode(text))
				if strings.HasPrefix(name, "word-lower") || strings.HasPrefix(name, "bpe-lower") {
					assert.Equal(t, strings.ToLower(text), got)
				} else {
					assert.Equal(t, text, got)
				}
			})
		}
	}
}

func TestWordDetokenise(t *testing.T) {
	w, err := TrainWord(strings.NewReader(corpus), WordOptions{SplitPunct: true})
	require.NoError(t, err)
	for _, text := range []string{
		spanish,
		"I don't know where the station is.",
		"«Hola», dijo él (sin prisa): 1000 y 2000 son números; 3000 también.",
	} {
		assert.Equal(t, text, w.Decode(w.Encode(text)))
	}
	assert.Equal(t, []string{"¿", "Dónde", "está", "el", "niño", "?", "¡", "Qué", "año", "!"}, tokens(w, spanish))
}

func tokens(t Tokenizer, text string) []string {
	var out []string
	for _, id := range t.Encode(text) {
		out = append(out, t.Token(id))
	}
	return out
}

func TestSpecialsAtFixedIDs(t *testing.T) {
	for name, tk := range trainAll(t) {
		t.Run(name, func(t *testing.T) {
			for i, s := range Specials {
				assert.Equal(t, s, tk.Token(int32(i)))
				id, ok := tk.ID(s)
				assert.True(t, ok)
				assert.Equal(t, int32(i), id)
			}
			assert.Equal(t, []int32{Pad, Unk, BOS, EOS}, []int32{0, 1, 2, 3})
			// literal specials in text are matched, as sugarme does
			ids := tk.Encode("<s>niño</s>")
			assert.Equal(t, BOS, ids[0])
			assert.Equal(t, EOS, ids[len(ids)-1])
			// Decode skips pad, bos, eos
			assert.Equal(t, tk.Decode(tk.Encode("niño")), tk.Decode(append([]int32{Pad, BOS}, append(tk.Encode("niño"), EOS, Pad)...)))
		})
	}
}

func TestOffsets(t *testing.T) {
	texts := []string{spanish, "  dos  espacios\ty tab\n", "Ωmega 5€ 我爱 👍!", "<s>hola</s> x", "x\xa1y"}
	for name, tk := range trainAll(t) {
		for _, text := range texts {
			t.Run(name+"/"+text, func(t *testing.T) {
				ids, offs := tk.EncodeOffsets(text)
				require.Equal(t, tk.Encode(text), ids)
				require.Len(t, offs, len(ids))
				s := Sanitize(text)
				prev := 0
				for i, o := range offs {
					require.True(t, o[0] <= o[1] && o[1] <= len(s) && o[0] >= prev, "offset %v", o)
					prev = o[0]
					piece := s[o[0]:o[1]]
					tok := tk.Token(ids[i])
					switch {
					case ids[i] == Unk:
						assert.NotEmpty(t, piece)
					case strings.HasPrefix(name, "bpe"):
						want := strings.ReplaceAll(tok, "▁", "")
						got := strings.Map(func(r rune) rune {
							if strings.ContainsRune(" \t\n\f\r", r) {
								return -1
							}
							return r
						}, piece)
						if strings.HasSuffix(name, "lower") {
							got = strings.ToLower(got)
						}
						assert.Equal(t, want, got, "token %q piece %q", tok, piece)
					case name == "word-lower-nfc":
						assert.Equal(t, tok, strings.ToLower(piece))
					default:
						assert.Equal(t, tok, piece)
					}
				}
			})
		}
	}
}

func TestInvalidUTF8AndUnknown(t *testing.T) {
	for name, tk := range trainAll(t) {
		t.Run(name, func(t *testing.T) {
			for _, text := range []string{"\xa1", "x\xa1", "El \xa1rbol grande", "\xff\xfe\xfd", "a\x00b"} {
				assert.NotPanics(t, func() {
					tk.Encode(text)
					tk.EncodeOffsets(text)
				})
			}
			ids := tk.Encode("Ω")
			assert.Contains(t, ids, Unk, "unknown char → <unk>")
			ids = tk.Encode("El \xa1rbol")
			assert.NotEmpty(t, ids)
			assert.Equal(t, Sanitize("El \xa1rbol"), "El \uFFFDrbol")
			assert.NotPanics(t, func() { tk.Decode([]int32{-1, 99999, 5}) })
		})
	}
}

// TestSugarmeParity loads every tokenizer's JSON in sugarme and checks that
// it encodes to the same ids and offsets.
func TestSugarmeParity(t *testing.T) {
	texts := []string{
		spanish, "El niño comió una manzana.", "I don't know. Tom's dog!",
		"«Hola», dijo él (sin prisa): 1000 y 2000 son números; 3000 también.",
		"aaa aaaa aaaaa bbb 000 0000", "a  b   c", " leading", "trailing ", "tab\there", "line\nbreak",
		"Ωmega 5€", "我爱北京天安门 。", "Good job 👍", "ÁRBOL Niño", "<s>hola</s> mundo", "x",
	}
	for name, tk := range trainAll(t) {
		t.Run(name, func(t *testing.T) {
			js, err := tk.MarshalJSON()
			require.NoError(t, err)
			sm, err := pretrained.FromReader(bytes.NewReader(js))
			require.NoError(t, err)
			for _, text := range texts {
				if strings.HasPrefix(name, "word") && strings.ContainsAny(text, "\u00a0") {
					continue
				}
				en, err := sm.EncodeSingle(text)
				require.NoError(t, err)
				want := make([]int32, len(en.Ids))
				for i, id := range en.Ids {
					want[i] = int32(id)
				}
				ids, offs := tk.EncodeOffsets(text)
				if len(want) == 0 {
					want = nil
				}
				if len(ids) == 0 {
					ids = nil
				}
				assert.Equal(t, want, ids, "text %q: sugarme %q", text, en.Tokens)
				if name != "bpe-lower" && name != "word-lower-nfc" || !strings.ContainsAny(text, "ÁN") {
					for i := range offs {
						// sugarme gives a lone prepended "▁" the first character's
						// range; ours is empty (it stands for no text).
						if i < len(en.Offsets) && !(en.Tokens[i] == "▁" && offs[i][0] == offs[i][1]) {
							assert.Equal(t, [2]int{en.Offsets[i][0], en.Offsets[i][1]}, offs[i], "text %q token %d %q", text, i, en.Tokens[i])
						}
					}
				}
			}
		})
	}
}

func TestLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for name, tk := range trainAll(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".json")
			require.NoError(t, SaveFile(path, tk))
			back, err := LoadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tk.Kind(), back.Kind())
			a, _ := tk.MarshalJSON()
			b, _ := back.MarshalJSON()
			assert.Equal(t, string(a), string(b))
			assert.Equal(t, tk.Encode(corpus), back.Encode(corpus))
		})
	}
}

func TestLoadGeneric(t *testing.T) {
	// A BPE with a Whitespace pre-tokenizer is not one of ours: sugarme runs it.
	js := `{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},
"post_processor":null,"decoder":null,"model":{"type":"BPE","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":1,"b":2,"ab":3},"merges":["a b"]}}`
	tk, err := Load([]byte(js))
	require.NoError(t, err)
	assert.Equal(t, "generic", tk.Kind())
	assert.Equal(t, []int32{3, 1, 0}, tk.Encode("ab a c"))
	_, err = Load([]byte(`{"model": 5}`))
	assert.Error(t, err)
	_, err = Load([]byte(`not json`))
	assert.Error(t, err)
}

func TestDeterministicTraining(t *testing.T) {
	a := trainAll(t)
	b := trainAll(t)
	for name := range a {
		ja, _ := a[name].MarshalJSON()
		jb, _ := b[name].MarshalJSON()
		assert.Equal(t, string(ja), string(jb), name)
	}
}

// TestBPEMergesGolden pins the merges learned on a small corpus.
func TestBPEMergesGolden(t *testing.T) {
	text := strings.Repeat("la niña y el niño cantan en el año nuevo\nlos niños cantan\n", 3) +
		"¿dónde están los niños? ¡aquí!\n"
	b, err := TrainBPE(strings.NewReader(text), BPEOptions{VocabSize: 70, MinFreq: 2})
	require.NoError(t, err)
	var got strings.Builder
	for _, m := range b.Merges() {
		fmt.Fprintf(&got, "%s %s\n", m[0], m[1])
	}
	path := filepath.Join("testdata", "bpe_merges.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got.String())
}

// TestBPETieBreak checks the documented order on a corpus built for ties.
func TestBPETieBreak(t *testing.T) {
	b, err := TrainBPE(strings.NewReader("ab ab cd cd\n"), BPEOptions{VocabSize: 100, MinFreq: 2})
	require.NoError(t, err)
	m := b.Merges()
	// all pairs have count 2; byte order puts "a" < "c" < "▁" (U+2581)
	assert.Equal(t, [][2]string{{"a", "b"}, {"c", "d"}, {"▁", "ab"}, {"▁", "cd"}}, m)
}

func TestEncodeCached(t *testing.T) {
	dir := t.TempDir()
	corpusPath := filepath.Join(dir, "corpus.txt")
	require.NoError(t, os.WriteFile(corpusPath, []byte(strings.Repeat(corpus, 20)), 0o644))
	cache := filepath.Join(dir, "cache")
	for name, tk := range trainAll(t) {
		t.Run(name, func(t *testing.T) {
			ids, err := EncodeCached(cache, corpusPath, tk)
			require.NoError(t, err)
			if name == "rune" || strings.HasPrefix(name, "word") {
				assert.Equal(t, tk.Encode(strings.Repeat(corpus, 20)), ids)
			}
			again, err := EncodeCached(cache, corpusPath, tk)
			require.NoError(t, err)
			assert.Equal(t, ids, again)
			eos, err := EncodeCached(cache, corpusPath, tk, LineOptions{StripNewline: true, EOS: true})
			require.NoError(t, err)
			assert.Equal(t, 20*10, count(eos, EOS))
		})
	}
	// damaged file is re-encoded
	ents, _ := os.ReadDir(cache)
	require.NotEmpty(t, ents)
	p := filepath.Join(cache, ents[0].Name())
	require.NoError(t, os.WriteFile(p, []byte("garbage"), 0o644))
	_, err := decodeIDs([]byte("garbage"))
	assert.ErrorIs(t, err, errBadCache)
	// large ids use 4 bytes
	big := []int32{0, 70000, 5}
	back, err := decodeIDs(encodeIDs(big))
	require.NoError(t, err)
	assert.Equal(t, big, back)
}

func count(ids []int32, id int32) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

func TestEncodeLinesOrder(t *testing.T) {
	tk := trainAll(t)["bpe"]
	lines := strings.Split(strings.Repeat(corpus, 100), "\n")
	got := EncodeLines(lines, tk)
	for i, l := range lines {
		require.Equal(t, tk.Encode(l), got[i])
	}
}

// synthText makes mixed English/Spanish-like text for benchmarks.
func synthText(n int, seed int64) string {
	rng := rand.New(rand.NewSource(seed))
	words := strings.Fields("the of and to in is was that for it with as his on be at by had are but from " +
		"el la de que y en los se del las un por con una su para es al lo como más pero sus le ya o fue este ha " +
		"niño niña año está qué dónde también números corazón canción información")
	syll := []string{"ca", "sa", "ma", "ri", "to", "ne", "ción", "ñi", "lo", "ber", "str", "qu", "é", "ás", "in", "ing"}
	punct := []string{".", ",", "?", "!", ";"}
	var b strings.Builder
	for b.Len() < n {
		if rng.Intn(6) == 0 {
			for k := 1 + rng.Intn(3); k > 0; k-- {
				b.WriteString(syll[rng.Intn(len(syll))])
			}
		} else {
			b.WriteString(words[rng.Intn(len(words))])
		}
		switch r := rng.Intn(20); {
		case r == 0:
			b.WriteString(punct[rng.Intn(len(punct))] + "\n")
		case r == 1:
			b.WriteString(punct[rng.Intn(len(punct))] + " ")
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func BenchmarkEncode(b *testing.B) {
	train := synthText(1<<20, 1)
	text := synthText(1<<20, 2)
	r, _ := TrainRune(strings.NewReader(train), RuneOptions{})
	w, _ := TrainWord(strings.NewReader(train), WordOptions{SplitPunct: true})
	bp, _ := TrainBPE(strings.NewReader(train), BPEOptions{VocabSize: 2000})
	js, _ := bp.MarshalJSON()
	sm, err := pretrained.FromReader(bytes.NewReader(js))
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.SplitAfter(text, "\n")
	for _, c := range []struct {
		name string
		tk   Tokenizer
	}{{"rune", r}, {"word", w}, {"bpe", bp}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range lines {
					c.tk.Encode(l)
				}
			}
		})
	}
	b.Run("bpe-parallel", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			EncodeLines(lines, bp)
		}
	})
	small := lines[:len(lines)/50] // sugarme is ~500x slower: a 2% slice
	n := 0
	for _, l := range small {
		n += len(l)
	}
	b.Run("bpe-sugarme", func(b *testing.B) {
		b.SetBytes(int64(n))
		for b.Loop() {
			for _, l := range small {
				if _, err := sm.EncodeSingle(l); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestBPESplitPunct: with SplitPunct, sentence punctuation is its own
// token, so a word is the same token whatever follows it, and decoding
// still restores the text exactly.
func TestBPESplitPunct(t *testing.T) {
	text := strings.Repeat("Hello. Hello! Hello? ¿Hello? yes. yes no\n", 20)
	b, err := TrainBPE(strings.NewReader(text), BPEOptions{VocabSize: 60, SplitPunct: true})
	require.NoError(t, err)
	tokens := func(s string) []string {
		var out []string
		for _, id := range b.Encode(s) {
			out = append(out, b.Token(id))
		}
		return out
	}
	assert.Equal(t, []string{"▁Hello", "."}, tokens("Hello."))
	assert.Equal(t, []string{"▁Hello", "!"}, tokens("Hello!"))
	assert.Equal(t, []string{"▁Hello"}, tokens("Hello"))
	assert.Equal(t, []string{"▁", "¿", "Hello", "?"}, tokens("¿Hello?"))
	for _, s := range []string{"Hello.", "¿Hello? yes.", "no!!", "yes.no", " yes ."} {
		assert.Equal(t, strings.TrimPrefix(s, " "), b.Decode(b.Encode(s)), s)
	}
	js, err := b.MarshalJSON()
	require.NoError(t, err)
	back, err := Load(js)
	require.NoError(t, err)
	require.IsType(t, &BPE{}, back)
	assert.True(t, back.(*BPE).SplitsPunct())
	assert.Equal(t, b.Encode("¿Hello? yes."), back.Encode("¿Hello? yes."))
}

// An empty or misspelt tokenizer.json gives an error that names the
// problem, and sugarme never sees it: no "INFO:" line on the log, no
// recovered panic, no log.Fatal.
func TestLoadRejectsMalformedQuietly(t *testing.T) {
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	for in, want := range map[string]string{
		`{}`:                                  `no "model" object`,
		`null`:                                `null, not a JSON object`,
		`{"model":null}`:                      `no "model" object`,
		`{"model":{"vocab":{"a":0}}}`:         `no "type"`,
		`{"model":{"type":"BPE"}}`:            `the BPE model has no "vocab"`,
		`{"model":{"type":"Foo","vocab":{}}}`: `unknown model type "Foo"`,
		`{"normaliser":{"type":"Lowercase"},"model":{"type":"WordLevel","vocab":{"a":0},"unk_token":"a"}}`: `unknown key "normaliser"`,
		`{"decoder":{"typ":"Fuse"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`:                    `"decoder" must be null or an object with a "type"`,
	} {
		_, err := Load([]byte(in))
		require.Error(t, err, in)
		require.Contains(t, err.Error(), want, in)
		require.NotContains(t, err.Error(), "panicked", in)
	}
	require.Empty(t, logged.String())
}

// TestBPEOpenMarks: with OpenMarks the word after ¡ or ¿ is the same token
// as the word after a space, no stray "▁" appears where a space comes
// before the mark, offsets still point into the text, and the option
// survives tokenizer.json.
func TestBPEOpenMarks(t *testing.T) {
	text := strings.Repeat("¡Hola! Hola. ¿Dónde está? dime dónde está. Él dijo ¡hola!\n", 20)
	b, err := TrainBPE(strings.NewReader(text), BPEOptions{VocabSize: 80, SplitPunct: true, OpenMarks: true})
	require.NoError(t, err)
	assert.True(t, b.OpensMarks())
	tokens := func(tk Tokenizer, s string) []string {
		var out []string
		for _, id := range tk.Encode(s) {
			out = append(out, tk.Token(id))
		}
		return out
	}
	assert.Equal(t, []string{"▁", "¡", "▁Hola", "!"}, tokens(b, "¡Hola!"))
	assert.Equal(t, []string{"▁Hola", "."}, tokens(b, "Hola."))
	assert.Equal(t, []string{"▁dijo", "▁", "¡", "▁hola"}, tokens(b, "dijo ¡hola"))
	assert.Equal(t, []string{"▁", "¿", "▁", "¡", "▁Hola"}, tokens(b, "¿¡Hola"))
	assert.Equal(t, []string{"▁Hola", "▁", "¡", "▁Hola"}, tokens(b, "Hola¡Hola"), "a mark inside a word cuts it on both sides")
	assert.Equal(t, []string{"▁", "¡"}, tokens(b, "¡"))
	assert.Equal(t, []string{"▁", "¡", "▁Hola"}, tokens(b, "¡ Hola"), "a space after the mark adds nothing")
	for in, want := range map[string]string{"¡Hola!": "¡Hola!", "dijo ¡hola": "dijo ¡hola", "¿¡Hola": "¿¡Hola",
		"¡ Hola": "¡Hola", "¡": "¡", "Él dijo ¿dónde está?": "Él dijo ¿dónde está?"} {
		assert.Equal(t, want, b.Decode(b.Encode(in)), "decoding %q: no space after the mark", in)
	}

	// Without the option the word after the mark has no "▁".
	plain, err := TrainBPE(strings.NewReader(text), BPEOptions{VocabSize: 80, SplitPunct: true})
	require.NoError(t, err)
	assert.Equal(t, "¡", tokens(plain, "¡Hola!")[1])
	assert.NotEqual(t, "▁Hola", tokens(plain, "¡Hola!")[2])

	for _, s := range []string{"¡Hola! ¿Dónde está?", "dijo ¡hola", "x  ¿y", "¿¡Hola", "é¡ñ"} {
		ids, offs := b.EncodeOffsets(s)
		require.Len(t, offs, len(ids), s)
		prev := 0
		for i, o := range offs {
			require.True(t, o[0] >= prev && o[0] <= o[1] && o[1] <= len(s), "%q token %d offsets %v", s, i, o)
			prev = o[0]
			if tok := b.Token(ids[i]); !strings.HasPrefix(tok, "▁") && ids[i] != Unk {
				assert.Equal(t, tok, s[o[0]:o[1]], "%q token %d", s, i)
			}
		}
	}

	js, err := b.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(js), `"type":"Split"`)
	back, err := Load(js)
	require.NoError(t, err)
	require.IsType(t, &BPE{}, back)
	assert.True(t, back.(*BPE).OpensMarks())
	assert.True(t, back.(*BPE).SplitsPunct())
	for _, s := range []string{"¡Hola! ¿Dónde está?", "dijo ¡hola"} {
		assert.Equal(t, b.Encode(s), back.Encode(s), s)
	}
	again, err := back.(*BPE).MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, string(js), string(again))

	_, err = TrainBPE(strings.NewReader(text), BPEOptions{VocabSize: 80, OpenMarks: true})
	assert.ErrorContains(t, err, "SplitPunct")
}
