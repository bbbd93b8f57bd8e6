package seq2seq

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

func fuzzModel(t testing.TB) *Model {
	src, err := tokenize.TrainBPE(strings.NewReader("ka lo mi nu\n¿dónde está?\nhello, world!\n"), tokenize.BPEOptions{VocabSize: 40})
	require.NoError(t, err)
	tgt, err := tokenize.TrainBPE(strings.NewReader("KA LO MI NU\n¿Dónde está?\n"), tokenize.BPEOptions{VocabSize: 40})
	require.NoError(t, err)
	m, err := New(Config{Cell: rnn.GRU, Embedding: 4, EncHidden: 4, DecHidden: 4}, src, tgt)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 1)))
	return m
}

// FuzzTranslate feeds arbitrary text to Translate: it must return a
// translation or one of the documented errors, never panic.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{"", "ka lo", "¿Dónde está el puente azul viejo?", "\xff\xfe", "a\x00b", "\t\n\r", strings.Repeat("ka ", 50), "😀 ∑ 中文", "<unk> </s> <s> <pad>"} {
		f.Add(s, uint8(1))
		f.Add(s, uint8(3))
	}
	m := fuzzModel(f)
	f.Fuzz(func(t *testing.T, s string, beam uint8) {
		trs, err := m.Translate(context.Background(), []string{s, "ka"}, TranslateOptions{Beam: int(beam % 6), MaxLenRatio: 1})
		if err != nil {
			if !errors.Is(err, ErrInvalidUTF8) && !errors.Is(err, ErrTooLong) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(trs) != 2 {
			t.Fatalf("%d translations for 2 inputs", len(trs))
		}
		for _, tr := range trs {
			if len(tr.Attention) != len(tr.Target) {
				t.Fatalf("%d attention rows for %d target tokens", len(tr.Attention), len(tr.Target))
			}
		}
	})
}

// TestConcurrentTranslate runs translations of one model from several
// goroutines (run with -race): a loaded Model is read-only in Translate.
func TestConcurrentTranslate(t *testing.T) {
	m := fuzzModel(t)
	texts := []string{"ka lo", "mi nu ka", "¿dónde?", "hello"}
	want, err := m.Translate(context.Background(), texts, TranslateOptions{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				got, err := m.Translate(context.Background(), texts, TranslateOptions{Beam: 1 + g%2*2})
				assert.NoError(t, err)
				if g%2 == 0 {
					assert.Equal(t, want, got)
				}
			}
		}(g)
	}
	wg.Wait()
}
