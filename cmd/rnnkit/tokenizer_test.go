package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tokCorpus = "¿Dónde está el niño? ¡Qué año!\nEl niño comió una manzana.\nLa niña bebió agua en el año nuevo.\n"

func writeTokCorpus(t *testing.T) (dir, data string) {
	dir = t.TempDir()
	data = filepath.Join(dir, "data.txt")
	require.NoError(t, os.WriteFile(data, []byte(strings.Repeat(tokCorpus, 5)), 0o644))
	return dir, data
}

func TestTokenizerTrainEncodeDecode(t *testing.T) {
	dir, data := writeTokCorpus(t)
	for _, kind := range []string{"rune", "word", "bpe"} {
		t.Run(kind, func(t *testing.T) {
			out := filepath.Join(dir, kind+".json")
			_, stderr, err := runCLI(t, "tokenizer", "train", "--type", kind, "--data", data, "--out", out, "--vocab-size", "120")
			require.NoError(t, err)
			assert.Contains(t, stderr, "wrote "+out)

			text := "¿Dónde está el niño? ¡Qué año!"
			ids, _, err := runCLI(t, "tokenizer", "encode", "--tokenizer", out, text)
			require.NoError(t, err)
			back, _, err := runCLI(t, "tokenizer", "decode", "--tokenizer", out, strings.TrimSpace(ids))
			require.NoError(t, err)
			assert.Equal(t, text+"\n", back)

			js, _, err := runCLI(t, "tokenizer", "encode", "--tokenizer", out, "--json", text)
			require.NoError(t, err)
			var rec struct {
				Text    string
				IDs     []int32
				Tokens  []string
				Offsets [][2]int
			}
			require.NoError(t, json.Unmarshal([]byte(js), &rec))
			assert.Equal(t, text, rec.Text)
			assert.Len(t, rec.Offsets, len(rec.IDs))
			assert.Len(t, rec.Tokens, len(rec.IDs))

			toks, _, err := runCLI(t, "tokenizer", "encode", "--tokenizer", out, "--tokens", "niño")
			require.NoError(t, err)
			assert.NotEmpty(t, strings.TrimSpace(toks))
		})
	}
}

func TestTokenizerStdin(t *testing.T) {
	dir, data := writeTokCorpus(t)
	out := filepath.Join(dir, "w.json")
	_, _, err := runCLI(t, "-q", "tokenizer", "train", "--type", "word", "--data", data, "--out", out)
	require.NoError(t, err)
	root := NewRootCmd()
	var o strings.Builder
	root.SetOut(&o)
	root.SetIn(strings.NewReader("El niño\nQué año\n"))
	root.SetArgs([]string{"tokenizer", "encode", "--tokenizer", out})
	require.NoError(t, root.Execute())
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	require.Len(t, lines, 2)

	root = NewRootCmd()
	var d strings.Builder
	root.SetOut(&d)
	root.SetIn(strings.NewReader(o.String()))
	root.SetArgs([]string{"tokenizer", "decode", "--tokenizer", out})
	require.NoError(t, root.Execute())
	assert.Equal(t, "El niño\nQué año\n", d.String())
}

func TestTokenizerUsageErrors(t *testing.T) {
	dir, data := writeTokCorpus(t)
	out := filepath.Join(dir, "r.json")
	for _, args := range [][]string{
		{"tokenizer", "train", "--data", data, "--out", out},
		{"tokenizer", "train", "--type", "nope", "--data", data, "--out", out},
		{"tokenizer", "train", "--type", "bpe", "--out", out},
		{"tokenizer", "encode", "x"},
	} {
		_, _, err := runCLI(t, args...)
		var ue usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	_, _, err := runCLI(t, "tokenizer", "train", "--type", "rune", "--data", data, "--out", out)
	require.NoError(t, err)
	_, _, err = runCLI(t, "tokenizer", "decode", "--tokenizer", out, "5", "x")
	var ue usageError
	assert.True(t, errors.As(err, &ue))
	assert.EqualError(t, err, `bad id "x": not an integer`)
	// The message says what is wrong with the id (it said "<nil>").
	for id, want := range map[string]string{"999999": "out of range: the vocabulary has ", "-1": "out of range", "99999999999999999999": "out of range"} {
		_, _, err = runCLI(t, "tokenizer", "decode", "--tokenizer", out, "--", id)
		assert.ErrorContains(t, err, `bad id "`+id+`": `+want)
		assert.NotContains(t, err.Error(), "<nil>")
	}
	_, _, err = runCLI(t, "tokenizer", "encode", "--tokenizer", filepath.Join(dir, "missing.json"), "x")
	assert.Error(t, err)
}

func TestTokenizerHelp(t *testing.T) {
	for _, sub := range []string{"train", "encode", "decode"} {
		out, _, err := runCLI(t, "tokenizer", sub, "--help")
		require.NoError(t, err)
		assert.Contains(t, out, "rnnkit tokenizer "+sub+" --")
		assert.Contains(t, out, "Examples:")
	}
}
