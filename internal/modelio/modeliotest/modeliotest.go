// Package modeliotest holds the damaged-file tests that every kind of model
// file must pass, for the applications' load tests to run on their own tiny
// model: a config that contradicts its tensors, a tokenizer whose ids do
// not fit the embedding, and the fuzzing of the metadata. Every load must
// fail with an error that names the file and what is wrong, and allocate
// no more than a small bound, because a model's buffers are sized from its
// config and a damaged file must never cause an enormous allocation.
//
// It is imported by tests only.
package modeliotest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/internal/modelio"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Name is the name the tests give their tiny model files.
const Name = "tiny.safetensors"

// Prefix begins every error about a file called Name.
const Prefix = "model file " + Name + ": "

// Fix ends the errors about a config that contradicts the rest of its file.
const Fix = "; the file is damaged or was edited; export or download the model again"

// MaxAlloc bounds what loading a tiny model may allocate (a few hundred KB
// in fact), whether the load succeeds or fails.
const MaxAlloc = 16 << 20

// SeedInts are the values that the fuzz targets' seeds give a config key:
// the sizes that once panicked or exhausted memory, and the edges of int64.
var SeedInts = []int64{0, -1, 1, 2, 3, 1e9, 1 << 62, -1 << 63}

// Loader reads a model from memory: an application's LoadBytes.
type Loader[M any] func(name string, data []byte) (M, error)

// File saves a model with save (its Save method) as F32 to a file called
// Name and returns the file's bytes.
func File(t testing.TB, save func(path string, dtype rnn.DType) error) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), Name)
	require.NoError(t, save(path, rnn.F32))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// Measure loads data as Name and returns the bytes the load allocated.
func Measure[M any](load Loader[M], data []byte) (M, uint64, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	m, err := load(Name, data)
	runtime.ReadMemStats(&ms)
	return m, ms.TotalAlloc - before, err
}

// Load loads the valid file data and checks that it loads within MaxAlloc.
func Load[M any](t testing.TB, load Loader[M], data []byte) M {
	t.Helper()
	m, n, err := Measure(load, data)
	require.NoError(t, err)
	require.Less(t, n, uint64(MaxAlloc))
	return m
}

// ConfigCase is a damaged config: Key set to Value (JSON; "" removes the
// key), and a part of the error the load must return. It is an unnamed
// struct type, as TokenizerCase is, so that the tables of cases can stay
// unkeyed: go vet accepts unkeyed literals of those only.
type ConfigCase = struct {
	Key, Value, Want string
}

// ConfigMismatch edits the config of the valid file data as each case says
// and checks that the load fails with an error that names the file and
// holds the case's Want, allocating less than MaxAlloc: a config that
// contradicts the tensors of its file is found before anything is
// allocated.
func ConfigMismatch[M any](t *testing.T, load Loader[M], data []byte, cases []ConfigCase) {
	for _, c := range cases {
		t.Run(c.Key+"="+c.Value, func(t *testing.T) {
			v := json.RawMessage(c.Value)
			if c.Value == "" {
				v = nil // remove the key
			}
			bad, err := modelio.EditConfig(data, map[string]json.RawMessage{c.Key: v})
			require.NoError(t, err)
			_, n, err := Measure(load, bad)
			require.Error(t, err)
			assert.Contains(t, err.Error(), Prefix)
			assert.Contains(t, err.Error(), c.Want)
			assert.Less(t, n, uint64(MaxAlloc), "bytes allocated by a failed load")
		})
	}
}

// TokenizerCase is a damaged tokenizer: in the tokenizer.json of metadata
// key Key (rnn.MetaTokenizer, or "tokenizer.src" and the like), Old, which
// must be there, is replaced once by New; the load's error must hold
// Prefix+Want.
type TokenizerCase = struct {
	Key, Old, New, Want string
}

// TokenizerIDs damages the tokenizers of the valid file data as each case
// says and checks that the load fails with the case's error. Should a
// damaged file load, use runs the model first and must not panic, which
// shows what a model that loaded would have done (before the checks, it
// panicked on a token id outside its embedding).
func TokenizerIDs[M any](t *testing.T, load Loader[M], data []byte, use func(M), cases []TokenizerCase) {
	for _, c := range cases {
		t.Run(c.Key+" "+c.New, func(t *testing.T) {
			bad, err := modelio.EditMeta(data, func(meta map[string]string) {
				require.Contains(t, meta[c.Key], c.Old)
				meta[c.Key] = strings.Replace(meta[c.Key], c.Old, c.New, 1)
			})
			require.NoError(t, err)
			m, err := load(Name, bad)
			if err == nil { // what used to happen
				assert.NotPanics(t, func() { use(m) })
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), Prefix+c.Want)
		})
	}
}

// Fuzzer is the part the FuzzLoadMeta targets share: a valid file's tensors
// and metadata, from which each input makes a file with another config and
// tokenizers, and the checks of its load.
type Fuzzer[M any] struct {
	Meta map[string]string // the valid file's metadata
	load Loader[M]
	keys []string
	ts   []rnn.Tensor
}

// NewFuzzer reads the valid file data. keys are the config keys that an
// input may set to an arbitrary integer.
func NewFuzzer[M any](f *testing.F, load Loader[M], data []byte, keys []string) *Fuzzer[M] {
	ts, meta, err := rnn.ReadSafetensors(strings.NewReader(string(data)), int64(len(data)))
	require.NoError(f, err)
	return &Fuzzer[M]{Meta: meta, load: load, keys: keys, ts: ts}
}

// Load writes the valid file with the given config, key number key (if it
// is one) set to v in it, and the tokenizer.json texts toks (by metadata
// key) in place of the file's, and loads it. The load must not panic nor
// allocate more than a bound, and its error must name the file; Load
// returns the model and whether it loaded. A file that cannot be written
// skips the input.
func (z *Fuzzer[M]) Load(t *testing.T, config string, key uint8, v int64, toks map[string]string) (M, bool) {
	if int(key) < len(z.keys) {
		var m map[string]any
		if json.Unmarshal([]byte(config), &m) == nil && m != nil {
			m[z.keys[key]] = v
			b, _ := json.Marshal(m)
			config = string(b)
		}
	}
	mt := map[string]string{}
	for k, v := range z.Meta {
		mt[k] = v
	}
	mt[rnn.MetaConfig] = config
	size := len(config)
	for k, v := range toks {
		mt[k] = v
		size += len(v)
	}
	var b strings.Builder
	if err := rnn.WriteSafetensors(&b, z.ts, mt, rnn.F32); err != nil {
		t.Skip()
	}
	m, n, err := Measure(z.load, []byte(b.String()))
	if n > MaxAlloc+uint64(200*size) {
		t.Fatalf("loading allocated %d bytes", n)
	}
	if err != nil {
		if !strings.HasPrefix(err.Error(), Prefix) {
			t.Fatalf("error without the file name: %v", err)
		}
		return m, false
	}
	return m, true
}

// CheckIDs fails t if tok, the tokenizer of a loaded model with vocab
// tokens, gives an id outside 0..vocab-1 for any of its tokens followed by
// suffix (text it may not know).
func CheckIDs(t *testing.T, tok tokenize.Tokenizer, vocab int, suffix string) {
	t.Helper()
	for id := range int32(vocab) {
		for _, x := range tok.Encode(tok.Token(id) + suffix) {
			if x < 0 || int(x) >= vocab {
				t.Fatalf("the tokenizer gives the id %d, outside the vocabulary of %d", x, vocab)
			}
		}
	}
}
