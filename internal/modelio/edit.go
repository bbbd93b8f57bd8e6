package modelio

import (
	"bytes"
	"encoding/json"

	"github.com/rnnkit/rnnkit/rnn"
)

// EditMeta returns a copy of the model file data with its metadata changed
// by edit; the tensors keep their names, shapes and values (written as
// F32). The loaders' tests and fuzz targets make damaged files with it.
func EditMeta(data []byte, edit func(meta map[string]string)) ([]byte, error) {
	ts, meta, err := rnn.ReadSafetensors(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	edit(meta)
	var b bytes.Buffer
	if err := rnn.WriteSafetensors(&b, ts, meta, rnn.F32); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// EditConfig returns a copy of the model file data whose config has the
// given keys set to the given JSON values (a nil value removes the key).
func EditConfig(data []byte, set map[string]json.RawMessage) ([]byte, error) {
	var cerr error
	out, err := EditMeta(data, func(meta map[string]string) {
		var cfg map[string]json.RawMessage
		if cerr = json.Unmarshal([]byte(meta[rnn.MetaConfig]), &cfg); cerr != nil {
			return
		}
		for k, v := range set {
			if v == nil {
				delete(cfg, k)
			} else {
				cfg[k] = v
			}
		}
		var b []byte
		b, cerr = json.Marshal(cfg)
		meta[rnn.MetaConfig] = string(b)
	})
	if cerr != nil {
		return nil, cerr
	}
	return out, err
}
