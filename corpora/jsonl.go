package corpora

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
)

// JSONLOptions selects the fields of a JSON Lines file.
type JSONLOptions struct {
	ReadOptions
	// Text and Label name the fields (defaults "text" and "label"); a dot
	// reaches into nested objects ("review.body"). Label NoLabel reads no
	// label.
	Text, Label string
}

// ReadJSONL streams a JSON Lines file: one JSON object per line. The text
// field must be a string; the label may be a string, a number (kept as
// written, e.g. "1" or "0.5") or a boolean. A line that is not an object, or
// lacks a field, is a *RecordError. Blank lines are skipped.
func ReadJSONL(r io.Reader, o JSONLOptions) iter.Seq2[Example, error] {
	return func(yield func(Example, error) bool) {
		text, label := o.Text, o.Label
		if text == "" {
			text = "text"
		}
		if label == "" {
			label = "label"
		}
		lr := newLineReader(r, o.ReadOptions)
		for {
			s, n, err := lr.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !yieldErr(err, yield) {
					return
				}
				continue
			}
			if strings.TrimSpace(s) == "" {
				continue
			}
			ex, err := parseJSONLine(s, text, label)
			if err != nil {
				if !yield(Example{}, lr.errorf(n, err)) {
					return
				}
				continue
			}
			ex.File, ex.Line = o.Name, n
			if !yield(ex, nil) {
				return
			}
		}
	}
}

func parseJSONLine(s, text, label string) (Example, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) || strings.HasPrefix(strings.TrimSpace(s), "null") {
			return Example{}, errors.New("not a JSON object")
		}
		return Example{}, fmt.Errorf("bad JSON: %v", err)
	}
	if obj == nil {
		return Example{}, errors.New("not a JSON object")
	}
	var ex Example
	raw, err := lookupField(obj, text)
	if err != nil {
		return Example{}, err
	}
	if err := json.Unmarshal(raw, &ex.Text); err != nil || raw[0] != '"' {
		return Example{}, fmt.Errorf("field %q is not a string", text)
	}
	if label == NoLabel {
		return ex, nil
	}
	raw, err = lookupField(obj, label)
	if err != nil {
		return Example{}, err
	}
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &ex.Label); err != nil {
			return Example{}, fmt.Errorf("field %q: %v", label, err)
		}
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		ex.Label = string(raw)
	default:
		return Example{}, fmt.Errorf("field %q is not a string, number or boolean", label)
	}
	return ex, nil
}

// lookupField follows a dotted path; it returns trimmed, non-null JSON.
func lookupField(obj map[string]json.RawMessage, path string) (json.RawMessage, error) {
	if raw, ok := obj[path]; ok && len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		return bytes.TrimSpace(raw), nil
	}
	parts := strings.Split(path, ".")
	for i, p := range parts {
		raw, ok := obj[p]
		raw = bytes.TrimSpace(raw)
		if !ok || len(raw) == 0 || string(raw) == "null" {
			return nil, fmt.Errorf("no field %q", path)
		}
		if i == len(parts)-1 {
			return raw, nil
		}
		obj = nil
		if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil || obj == nil {
			return nil, fmt.Errorf("no field %q (%q is not an object)", path, strings.Join(parts[:i+1], "."))
		}
	}
	return nil, fmt.Errorf("no field %q", path)
}
