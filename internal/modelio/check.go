package modelio

// Checks that a model file's config agrees with its tokenizers and tensors,
// made before the model is built. A model's buffers are sized from its
// config, so a config that does not match the tensors it came with (a
// damaged or hand-edited file) must be an error naming the field before
// anything is allocated, never an enormous allocation or a panic.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// mismatch ends the errors about a config that contradicts the rest of its
// file: what to do about it.
const mismatch = "the file is damaged or was edited; export or download the model again"

// Keys is the set of keys a model file's config holds.
type Keys map[string]bool

// Has reports whether the config holds key.
func (k Keys) Has(key string) bool { return k[key] }

// decodeConfig unmarshals info's config into cfg, a pointer to a struct,
// key by key, so that every error names its key.
func decodeConfig(name string, info rnn.ModelInfo, cfg any) (Keys, error) {
	rv := reflect.ValueOf(cfg)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("modelio: Decode needs a pointer to a config struct, got %T", cfg))
	}
	if len(info.Config) == 0 {
		return nil, fmt.Errorf("model file %s: no %q in the metadata, so the %s model's architecture is unknown; %s", name, rnn.MetaConfig, info.Kind, mismatch)
	}
	st := rv.Elem()
	names, index := jsonFields(st.Type())
	bad := func(format string, args ...any) error {
		return fmt.Errorf("model file %s: %s config: %s", name, info.Kind, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(info.Config))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad("not a JSON object: %s; %s", clip(info.Config), mismatch)
	}
	keys := Keys{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("malformed JSON: %v; %s", err, mismatch)
		}
		k, _ := tok.(string) // an object's keys are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad("malformed JSON at %q: %v; %s", k, err, mismatch)
		}
		i, ok := index[k]
		switch {
		case !ok:
			return nil, bad("unknown key %q; %s configs have the keys %s: correct or remove it (or use the newer rnnkit that wrote the file)",
				k, info.Kind, strings.Join(names, ", "))
		case keys[k]:
			return nil, bad("key %q appears twice; %s", k, mismatch)
		case string(raw) == "null":
			return nil, bad("%q is null; give it a value or remove the key", k)
		}
		if err := json.Unmarshal(raw, st.Field(i).Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				err = fmt.Errorf("a JSON %s, but the field has Go type %s", te.Value, st.Type().Field(i).Type)
			}
			return nil, bad("%q = %s: %v; %s", k, clip(raw), err, mismatch)
		}
		keys[k] = true
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, bad("malformed JSON: the object is not closed; %s", mismatch)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("trailing data after the JSON object; %s", mismatch)
	}
	return keys, nil
}

// jsonFields returns the json names of t's fields, in field order, and the
// index of each field by name.
func jsonFields(t reflect.Type) ([]string, map[string]int) {
	var names []string
	index := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch n {
		case "-":
			continue
		case "":
			n = f.Name
		}
		names = append(names, n)
		index[n] = i
	}
	return names, index
}

// clip shortens raw JSON for a message.
func clip(raw []byte) string {
	const n = 60
	if len(raw) > n {
		return string(raw[:n]) + "..."
	}
	return string(raw)
}

// show renders a config value as the file writes it.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// CheckTokenizer checks the tokenizer tok, loaded from info's tokenizer
// named tokName, against the config field (field, its name, and vocab, its
// value) that sizes the embedding its ids index: the tokenizer must have
// exactly vocab ids, 0 to vocab-1, and every id it can produce (its
// vocabulary, added tokens, unknown-token and post-processor ids) and every
// special id the applications use (tokenize.Pad, Unk, BOS, EOS) must be
// below vocab. So a loaded model never meets a token id outside its
// embedding.
func CheckTokenizer(name string, info rnn.ModelInfo, tokName string, tok tokenize.Tokenizer, field string, vocab int) error {
	what := "the tokenizer"
	key := rnn.MetaTokenizer
	if tokName != "" {
		what = "the " + tokName + " tokenizer"
		key += "." + tokName
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("model file %s: %s", name, fmt.Sprintf(format, args...))
	}
	if n := tok.VocabSize(); n != vocab {
		return fail("config %q = %d but %s (metadata %q) has %d tokens; %s", field, vocab, what, key, n, mismatch)
	}
	for id, s := range tokenize.Specials {
		if id >= vocab {
			return fail("config %q = %d is too small to hold the special token %s (id %d); %s", field, vocab, s, id, mismatch)
		}
	}
	outside := func(id int64) bool { return id < 0 || id >= int64(vocab) }
	where := fmt.Sprintf("outside the %d tokens of config %q", vocab, field)
	if err := checkTokenizerJSON(info.Tokenizers[tokName], tok.Kind() == "generic", outside, where); err != nil {
		return fail("%s (metadata %q): %v", what, key, err)
	}
	for _, s := range tokenize.Specials {
		if id, ok := tok.ID(s); ok && outside(int64(id)) {
			return fail("%s (metadata %q) gives the special token %s the id %d, outside the %d tokens of config %q; %s", what, key, s, id, vocab, field, mismatch)
		}
	}
	// vocab distinct tokens at ids 0..vocab-1 leave no token for any other
	// id: the ids are exactly those of the embedding's rows.
	for id := range int32(vocab) {
		t := tok.Token(id)
		if got, ok := tok.ID(t); !ok || got != id {
			return fail("%s (metadata %q) has no token with id %d (its token ids are not 0 to %d), so it can produce ids outside the %d tokens of config %q; %s",
				what, key, id, vocab-1, vocab, field, mismatch)
		}
	}
	return nil
}

// tokenizerJSON is the part of a tokenizer.json that says which ids the
// tokenizer can produce.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
	Padding       json.RawMessage `json:"padding"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Vocab json.RawMessage `json:"vocab"`
		UnkID json.RawMessage `json:"unk_id"`
	} `json:"model"`
}

// checkTokenizerJSON checks the ids a tokenizer.json gives its tokens:
// none may be outside (where says what that means). The vocabulary itself
// is read only when vocab is set (a tokenizer that tokenize loads natively
// has ids 0..n-1 by construction).
func checkTokenizerJSON(text string, vocab bool, outside func(int64) bool, where string) error {
	var f tokenizerJSON
	if err := json.Unmarshal([]byte(text), &f); err != nil {
		return fmt.Errorf("malformed tokenizer.json: %v; %s", err, mismatch)
	}
	if len(f.Padding) > 0 && string(f.Padding) != "null" {
		return errors.New(`"padding" is set, but rnnkit pads batches itself and a padding tokenizer would feed the model extra tokens; set "padding" to null`)
	}
	err := func(format string, args ...any) error {
		return fmt.Errorf("%s, %s; %s", fmt.Sprintf(format, args...), where, mismatch)
	}
	for _, a := range f.AddedTokens {
		if outside(a.ID) {
			return err("added token %q has the id %d", a.Content, a.ID)
		}
	}
	if len(f.Model.UnkID) > 0 && string(f.Model.UnkID) != "null" {
		id, perr := strconv.ParseInt(string(f.Model.UnkID), 10, 64)
		if perr != nil || outside(id) {
			return err("model.unk_id is %s", clip(f.Model.UnkID))
		}
	}
	if vocab && len(f.Model.Vocab) > 0 && f.Model.Vocab[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(f.Model.Vocab))
		dec.UseNumber()
		dec.Token() // '{'
		for dec.More() {
			k, _ := dec.Token()
			v, terr := dec.Token()
			n, _ := v.(json.Number)
			id, nerr := n.Int64()
			if terr != nil || nerr != nil || outside(id) {
				return err("model.vocab gives the token %q the id %v", k, v)
			}
		}
	}
	if len(f.PostProcessor) > 0 {
		var pp any
		dec := json.NewDecoder(bytes.NewReader(f.PostProcessor))
		dec.UseNumber()
		if derr := dec.Decode(&pp); derr != nil {
			return fmt.Errorf("malformed post_processor: %v; %s", derr, mismatch)
		}
		if perr := processorIDs(pp, outside); perr != nil {
			return err("%v", perr)
		}
	}
	return nil
}

// processorIDs checks the special-token ids of a post-processor (HF's
// TemplateProcessing "special_tokens": {..., "ids": [...]}, Bert and
// Roberta processing's "cls"/"sep": [token, id], and Sequence's
// "processors").
func processorIDs(v any, outside func(int64) bool) error {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if err := processorIDs(e, outside); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			e := v[k]
			switch k {
			case "ids":
				ids, _ := e.([]any)
				for _, x := range ids {
					if id, ok := number(x); !ok || outside(id) {
						return fmt.Errorf("post_processor gives a special token the id %v", x)
					}
				}
			case "cls", "sep":
				if p, ok := e.([]any); ok && len(p) == 2 {
					if id, ok := number(p[1]); !ok || outside(id) {
						return fmt.Errorf("post_processor gives %v the id %v", p[0], p[1])
					}
				}
			default:
				if err := processorIDs(e, outside); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func number(x any) (int64, bool) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, false
	}
	id, err := n.Int64()
	return id, err == nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Invalid is the error for a config value that no model may have: the
// config field field of the model file name holds value, and why says what
// it must be.
func Invalid(name, field string, value any, why string) error {
	return fmt.Errorf("model file %s: config %q = %s: %s; %s", name, field, show(value), why, mismatch)
}

// Shapes checks a model file's config against the shapes of its tensors
// before the model is built. Each check names the config field it tests; the
// first failure sticks and Err returns it. Check every field that sizes a
// tensor or counts layers directly against a tensor before computing with
// it, then call Params with the parameters the config registers on a counter
// (rnn.NewParamCounter): when Err is nil the model's buffers hold exactly
// the file's values.
type Shapes struct {
	name   string
	ts     []rnn.Tensor
	byName map[string]*rnn.Tensor
	err    error
}

// NewShapes indexes the tensors of the model file name.
func NewShapes(name string, ts []rnn.Tensor) *Shapes {
	s := &Shapes{name: name, ts: ts, byName: make(map[string]*rnn.Tensor, len(ts))}
	for i := range ts {
		s.byName[ts[i].Name] = &ts[i]
	}
	return s
}

// Err returns the first failed check.
func (s *Shapes) Err() error { return s.err }

// Fail records err (already naming the file) unless a check failed before.
func (s *Shapes) Fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *Shapes) failf(format string, args ...any) {
	s.Fail(fmt.Errorf("model file %s: %s", s.name, fmt.Sprintf(format, args...)))
}

// Dim checks that dimension axis of tensor is want, the size that the
// config field field (whose value is shown) gives it. The tensor must exist
// and have no zero dimension, so a value that passes is at most the number
// of values the file holds.
func (s *Shapes) Dim(field string, value any, tensor string, axis, want int) {
	if s.err != nil {
		return
	}
	t := s.byName[tensor]
	switch {
	case t == nil:
		s.failf("config %q = %s but the file has no tensor %s; %s", field, show(value), tensor, mismatch)
	case axis >= len(t.Shape) || t.Shape[axis] != want || want <= 0:
		s.failf("config %q = %s but tensor %s has shape %v (the config needs %d in dimension %d); %s", field, show(value), tensor, t.Shape, want, axis, mismatch)
	case slices.Contains(t.Shape, 0):
		s.failf("tensor %s has shape %v, which holds no values, but no rnnkit model has an empty tensor; %s", tensor, t.Shape, mismatch)
	}
}

// Has checks that tensor is in the file if want is true and absent if not,
// as the config field field (whose value is shown) says.
func (s *Shapes) Has(field string, value any, tensor string, want bool) {
	if s.err != nil {
		return
	}
	switch t := s.byName[tensor]; {
	case want && t == nil:
		s.failf("config %q = %s but the file has no tensor %s; %s", field, show(value), tensor, mismatch)
	case !want && t != nil:
		s.failf("config %q = %s but the file has tensor %s %v, which that config does not have; %s", field, show(value), tensor, t.Shape, mismatch)
	}
}

// Layers checks the number of stacked layers of the recurrent layer whose
// tensors start with prefix (rnn.NewLayer's names): the file must have
// prefix+"weight_ih_l{k}" for k = 0 .. value-1 and no more.
func (s *Shapes) Layers(field string, value int, prefix string) {
	if s.err != nil {
		return
	}
	n := 0
	for s.byName[prefix+"weight_ih_l"+strconv.Itoa(n)] != nil {
		n++
	}
	switch {
	case n == value:
	case n == 0:
		s.failf("config %q = %d but the file has no tensor %sweight_ih_l0; %s", field, value, prefix, mismatch)
	case n == 1:
		s.failf("config %q = %d but the file has tensors for 1 layer (%sweight_ih_l0); %s", field, value, prefix, mismatch)
	default:
		s.failf("config %q = %d but the file has tensors for %d layers (%sweight_ih_l0 to %sweight_ih_l%d); %s", field, value, n, prefix, prefix, n-1, mismatch)
	}
}

// Params checks that the parameters registered in ps, a counter on which
// the model's constructor ran with the checked config, are exactly the
// file's tensors (rnn.Params.CheckTensors).
func (s *Shapes) Params(ps *rnn.Params) {
	if s.err != nil {
		return
	}
	if err := ps.CheckTensors(s.ts); err != nil {
		s.failf("the config does not match the tensors: %v; %s", err, mismatch)
	}
}
