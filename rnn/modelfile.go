package rnn

// Model files: one safetensors file per model, tensors named and shaped as the
// equivalent PyTorch module's state_dict, string metadata holding the format
// version, the model kind, its config and its tokenizers. docs/FORMAT.md
// describes the format for other tools.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rnnkit/rnnkit/internal/atomicfile"
)

// FormatVersion is the model file format version this rnnkit writes, and the
// newest it reads. It is raised only when older rnnkit versions could not read
// new files correctly; adding a metadata key or a tensor does not raise it.
const FormatVersion = 1

// Metadata keys with a fixed meaning; ModelInfo.Meta cannot use them.
const (
	MetaFormatVersion = "format_version"
	MetaKind          = "kind"
	MetaConfig        = "config"
	MetaTokenizer     = "tokenizer" // the unnamed tokenizer; named ones are "tokenizer.<name>"
)

// OptimPrefix starts the names of checkpoint tensors that are not model
// parameters (optimizer state). SetFromTensors ignores them.
const OptimPrefix = "optim."

// ModelInfo is everything in a model file besides the weights.
type ModelInfo struct {
	Kind       string            // "charrnn", "sentiment", "seq2seq" ...
	Config     json.RawMessage   // the application's config as JSON
	Tokenizers map[string]string // name -> HF tokenizer.json text; "" is the unnamed tokenizer
	Meta       map[string]string // other string metadata (licence, attribution, metrics)
}

// metadata builds the safetensors metadata of info.
func (info ModelInfo) metadata() (map[string]string, error) {
	if info.Kind == "" {
		return nil, errors.New("the model kind is empty")
	}
	m := map[string]string{
		MetaFormatVersion: strconv.Itoa(FormatVersion),
		MetaKind:          info.Kind,
	}
	if len(info.Config) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, info.Config); err != nil {
			return nil, fmt.Errorf("the config is not valid JSON: %v", err)
		}
		m[MetaConfig] = b.String()
	}
	for name, text := range info.Tokenizers {
		m[tokenizerKey(name)] = text
	}
	for k, v := range info.Meta {
		if isReservedKey(k) {
			return nil, fmt.Errorf("metadata key %q is reserved; use ModelInfo's fields or another key", k)
		}
		m[k] = v
	}
	return m, nil
}

func tokenizerKey(name string) string {
	if name == "" {
		return MetaTokenizer
	}
	return MetaTokenizer + "." + name
}

func isReservedKey(k string) bool {
	switch k {
	case MetaFormatVersion, MetaKind, MetaConfig, MetaTokenizer:
		return true
	}
	return strings.HasPrefix(k, MetaTokenizer+".")
}

// Tensors returns views (sharing W, no copy) of all parameters, in
// registration order, for saving.
func (ps *Params) Tensors() []Tensor {
	out := make([]Tensor, len(ps.list))
	for i, p := range ps.list {
		out[i] = Tensor{Name: p.Name, Shape: append([]int(nil), p.Shape...), Data: p.W}
	}
	return out
}

// SetFromTensors copies tensor values into the parameters. It is strict:
// every parameter must be present with exactly its shape, and a tensor that
// is not a parameter is an error unless its name starts with OptimPrefix.
// On error ps is unchanged.
func (ps *Params) SetFromTensors(ts []Tensor) error {
	byName, err := ps.matchTensors(ts, false)
	if err != nil {
		return err
	}
	for _, p := range ps.list {
		copy(p.W, byName[p.Name].Data)
	}
	return nil
}

// CheckTensors makes SetFromTensors' checks of names and shapes without
// copying anything: the tensors are exactly the parameters, with their
// shapes (OptimPrefix tensors aside), and the data of each, if it has
// any, of the length its shape needs; the tensors of ModelFile.Shapes,
// which have none, pass on their shapes. It works on a counter (NewParamCounter), so a model file
// can be checked against the parameters a config would register before the
// model's buffers are allocated.
func (ps *Params) CheckTensors(ts []Tensor) error {
	_, err := ps.matchTensors(ts, true)
	return err
}

// matchTensors indexes ts by name and checks it against ps's parameters;
// with noData, a tensor without data (ModelFile.Shapes) passes on its
// shape alone.
func (ps *Params) matchTensors(ts []Tensor, noData bool) (map[string]*Tensor, error) {
	byName := make(map[string]*Tensor, len(ts))
	for i := range ts {
		t := &ts[i]
		if _, dup := byName[t.Name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		byName[t.Name] = t
		if ps.byName[t.Name] == nil && !strings.HasPrefix(t.Name, OptimPrefix) {
			return nil, fmt.Errorf("tensor %q (shape %v) is not a parameter of this model; the file holds a different architecture or config", t.Name, t.Shape)
		}
	}
	for _, p := range ps.list {
		t := byName[p.Name]
		if t == nil {
			return nil, fmt.Errorf("parameter %q (shape %v) is missing; the file holds a different architecture or config", p.Name, p.Shape)
		}
		if !equalShape(t.Shape, p.Shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, but the model needs %v; the file was saved with a different config", p.Name, t.Shape, p.Shape)
		}
		if !(noData && t.Data == nil) && len(t.Data) != p.numel() {
			return nil, fmt.Errorf("tensor %q has shape %v but %d values", t.Name, t.Shape, len(t.Data))
		}
	}
	return byName, nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SaveModel writes the parameters and info to path as a model file with
// elements of the given dtype (F32 for exact weights, F16 or BF16 for half
// the size). Models with non-finite weights are refused. The write is atomic:
// path holds either its old content or the complete new file.
func SaveModel(path string, info ModelInfo, ps *Params, dtype DType) error {
	meta, err := info.metadata()
	if err != nil {
		return fmt.Errorf("model file %s: %v", path, err)
	}
	if err := checkFinite(ps.Tensors()); err != nil {
		return fmt.Errorf("model file %s: not saved: %v", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		return WriteSafetensors(w, ps.Tensors(), meta, dtype)
	})
}

// SaveCheckpoint writes a training checkpoint: the parameters in F32 plus
// extra tensors (optimizer state), whose names must start with OptimPrefix.
// Step counters, RNG state and the like go in info.Meta. Atomic as SaveModel.
func SaveCheckpoint(path string, info ModelInfo, ps *Params, extra []Tensor) error {
	meta, err := info.metadata()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %v", path, err)
	}
	ts := ps.Tensors()
	for _, t := range extra {
		if !strings.HasPrefix(t.Name, OptimPrefix) {
			return fmt.Errorf("checkpoint %s: extra tensor %q must be named %q...", path, t.Name, OptimPrefix)
		}
	}
	ts = append(ts, extra...)
	if err := checkFinite(ts); err != nil {
		return fmt.Errorf("checkpoint %s: not saved: %v", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		return WriteSafetensors(w, ts, meta, F32)
	})
}

func checkFinite(ts []Tensor) error {
	for _, t := range ts {
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %q has the non-finite value %v at element %d", t.Name, v, i)
			}
		}
	}
	return nil
}

// staleTempAge is how long a temporary file of writeAtomic must have been
// left untouched before a later write of the same target removes it: a
// process killed during a save leaves one as large as the file, and no
// live save goes that long without writing to its temporary file.
const staleTempAge = 10 * time.Minute

// removeStaleTemps removes the temporary files ".BASE.tmp-*" in dir that
// were last modified before cutoff. Errors are ignored: it is housekeeping.
func removeStaleTemps(dir, base string, cutoff time.Time) {
	matches, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(base)+".tmp-*"))
	for _, m := range matches {
		if st, err := os.Lstat(m); err == nil && st.Mode().IsRegular() && st.ModTime().Before(cutoff) {
			os.Remove(m)
		}
	}
}

// globEscape quotes the metacharacters of filepath.Match in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeAtomic writes a model file atomically (atomicfile.Write), first
// removing temporary files that earlier writes of the same name left
// behind (a crash during a write) once they are staleTempAge old.
func writeAtomic(path string, write func(io.Writer) error) error {
	removeStaleTemps(filepath.Dir(path), filepath.Base(path), time.Now().Add(-staleTempAge))
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("model file %s: %w", path, err)
	}
	return nil
}

// LoadModel reads a model file. wantKind, if not empty, is the model kind
// the caller needs. Errors name the file, the problem and what to do.
func LoadModel(path, wantKind string) (ModelInfo, []Tensor, error) {
	f, size, err := openModelFile(path)
	if err != nil {
		return ModelInfo{}, nil, err
	}
	defer f.Close()
	return loadModel(path, f, size, wantKind)
}

// openModelFile opens a model file for reading, refusing what is not a
// regular file.
func openModelFile(path string) (*os.File, int64, error) {
	// Stat before opening: opening a named pipe blocks until a writer
	// comes, which would hang the command for good.
	if st, err := os.Stat(path); err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("model file %s: not a regular file (%s); give the path of a .safetensors file", path, fileKind(st.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("model file %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("model file %s: %w", path, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("model file %s: is a directory; give the path of a .safetensors file", path)
	}
	return f, st.Size(), nil
}

// ReadHeader reads the header of the model file or checkpoint at path (or
// of any safetensors file): the names, dtypes and shapes of its tensors and
// its metadata, without reading the weights. The header is validated as
// LoadModel validates it, with the same errors.
func ReadHeader(path string) ([]TensorInfo, map[string]string, error) {
	f, size, err := openModelFile(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ts, meta, err := ReadSafetensorsHeader(f, size)
	if err != nil {
		return nil, nil, explainReadError(path, err)
	}
	return ts, meta, nil
}

// ReadHeaderBytes is ReadHeader for a file held in memory; name stands for
// the file in errors.
func ReadHeaderBytes(name string, data []byte) ([]TensorInfo, map[string]string, error) {
	ts, meta, err := ReadSafetensorsHeader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, explainReadError(name, err)
	}
	return ts, meta, nil
}

// fileKind names a non-regular file mode for an error message.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// LoadModelBytes reads a model file held in memory (a go:embed'd default);
// name stands for the file in errors.
func LoadModelBytes(name string, data []byte, wantKind string) (ModelInfo, []Tensor, error) {
	return loadModel(name, bytes.NewReader(data), int64(len(data)), wantKind)
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint, returning the
// parameter tensors and the OptimPrefix tensors separately.
func LoadCheckpoint(path, wantKind string) (info ModelInfo, params, extra []Tensor, err error) {
	info, ts, err := LoadModel(path, wantKind)
	if err != nil {
		return ModelInfo{}, nil, nil, err
	}
	for _, t := range ts {
		if strings.HasPrefix(t.Name, OptimPrefix) {
			extra = append(extra, t)
		} else {
			params = append(params, t)
		}
	}
	return info, params, extra, nil
}

func loadModel(name string, r io.ReaderAt, size int64, wantKind string) (ModelInfo, []Tensor, error) {
	ts, meta, err := ReadSafetensors(r, size)
	if err != nil {
		return ModelInfo{}, nil, explainReadError(name, err)
	}
	info, err := modelInfo(name, meta, wantKind)
	if err != nil {
		return ModelInfo{}, nil, err
	}
	return info, ts, nil
}

// modelInfo parses a model file's metadata and checks its kind.
func modelInfo(name string, meta map[string]string, wantKind string) (ModelInfo, error) {
	info, err := parseInfo(meta)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model file %s: %v", name, err)
	}
	if wantKind != "" && info.Kind != wantKind {
		return ModelInfo{}, fmt.Errorf("model file %s: this is a %q model, but a %q model is needed; pass a %s model file", name, info.Kind, wantKind, wantKind)
	}
	return info, nil
}

func explainReadError(name string, err error) error {
	var fe *formatError
	if !errors.As(err, &fe) {
		return fmt.Errorf("model file %s: %w", name, err)
	}
	var msg string
	switch fe.kind {
	case errNotST:
		msg = fmt.Sprintf("not a safetensors file (%s); give the path of an rnnkit model file", fe.msg)
	case errTruncated:
		msg = fe.msg + "; the file is incomplete, download or copy it again"
	case errUnsupported:
		msg = fe.msg + "; convert the tensors to one of those"
	default:
		msg = fmt.Sprintf("damaged safetensors file: %s; download or export it again", fe.msg)
	}
	return &wrapped{msg: fmt.Sprintf("model file %s: %s", name, msg), err: err}
}

// wrapped is an error with its own message that still matches the error it
// explains (ErrFormat) with errors.Is.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// parseInfo interprets the metadata of a model file.
func parseInfo(meta map[string]string) (ModelInfo, error) {
	const notOurs = "not an rnnkit model (its metadata has no %q); save it with rnnkit, or convert it with bench/pytorch/safetensors_io.py as docs/FORMAT.md shows"
	vs, ok := meta[MetaFormatVersion]
	if !ok {
		return ModelInfo{}, fmt.Errorf(notOurs, MetaFormatVersion)
	}
	v, err := strconv.Atoi(vs)
	if err != nil || v < 1 {
		return ModelInfo{}, fmt.Errorf("format version %q is not a positive integer; the file is damaged", vs)
	}
	if v > FormatVersion {
		return ModelInfo{}, fmt.Errorf("format version %d is newer than this rnnkit (%d); upgrade rnnkit", v, FormatVersion)
	}
	kind, ok := meta[MetaKind]
	if !ok || kind == "" {
		return ModelInfo{}, fmt.Errorf(notOurs, MetaKind)
	}
	info := ModelInfo{Kind: kind}
	if c, ok := meta[MetaConfig]; ok {
		if !json.Valid([]byte(c)) {
			return ModelInfo{}, fmt.Errorf("the %q metadata is not valid JSON; the file is damaged", MetaConfig)
		}
		info.Config = json.RawMessage(c)
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case k == MetaFormatVersion || k == MetaKind || k == MetaConfig:
		case k == MetaTokenizer || strings.HasPrefix(k, MetaTokenizer+".") && len(k) > len(MetaTokenizer)+1:
			if info.Tokenizers == nil {
				info.Tokenizers = map[string]string{}
			}
			info.Tokenizers[strings.TrimPrefix(strings.TrimPrefix(k, MetaTokenizer), ".")] = meta[k]
		default:
			if info.Meta == nil {
				info.Meta = map[string]string{}
			}
			info.Meta[k] = meta[k]
		}
	}
	return info, nil
}

// WriteModelBytes writes a model file held in memory (an embedded default
// model) to path, atomically, after checking that it is an rnnkit model file.
func WriteModelBytes(path string, data []byte) error {
	if _, _, err := ReadSafetensorsHeader(bytes.NewReader(data), int64(len(data))); err != nil {
		return explainReadError(path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Free metadata keys written under one spelling and read under both: the
// default models of older releases carry "licence" and "training_command".
const (
	MetaLicense      = "license"
	MetaTrainCommand = "train_command"
)

// metaAliases maps a free metadata key to the other spelling that readers
// also accept.
var metaAliases = map[string]string{MetaLicense: "licence", MetaTrainCommand: "training_command"}

// MetaValue returns meta[key], or the value under key's other spelling
// (license: licence, train_command: training_command) when key is absent.
func MetaValue(meta map[string]string, key string) string {
	if v, ok := meta[key]; ok {
		return v
	}
	return meta[metaAliases[key]]
}

// CanonicalMetaKey returns the spelling rnnkit writes for a free metadata
// key: "license" for "licence", "train_command" for "training_command", any
// other key unchanged.
func CanonicalMetaKey(k string) string {
	for canon, alias := range metaAliases {
		if k == alias {
			return canon
		}
	}
	return k
}
