package tokenize

import (
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the tokenizer.json loader: it may
// return an error but must never panic, and a tokenizer it accepts must
// encode and decode arbitrary text without panicking.
func FuzzLoad(f *testing.F) {
	corpus := "¿Dónde está el niño? ¡Qué año! the cat sat on the mat. 中文 😀\n"
	r, _ := TrainRune(strings.NewReader(corpus), RuneOptions{})
	w, _ := TrainWord(strings.NewReader(corpus), WordOptions{SplitPunct: true})
	b, _ := TrainBPE(strings.NewReader(strings.Repeat(corpus, 20)), BPEOptions{VocabSize: 80, MinFreq: 1})
	for _, t := range []Tokenizer{r, w, b} {
		if t == nil {
			continue
		}
		if js, err := t.MarshalJSON(); err == nil {
			f.Add(js)
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":["a a"]}}`))
	f.Add([]byte(`{"model":{"type":"WordLevel","vocab":{},"unk_token":"<unk>"}}`))
	f.Add([]byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Load(data)
		if err != nil {
			return
		}
		for _, s := range []string{"", "hola niño", "a\xffb", "¿?¡!", "<unk> </s>"} {
			ids := tok.Encode(s)
			_ = tok.Decode(ids)
			_, _ = tok.EncodeOffsets(s)
		}
		_ = tok.VocabSize()
	})
}
