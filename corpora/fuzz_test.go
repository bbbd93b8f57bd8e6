package corpora

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkLines fails unless line numbers increase and texts are valid UTF-8.
func checkRecord(t *testing.T, prev *int, line int, texts ...string) {
	t.Helper()
	if line <= *prev {
		t.Fatalf("line %d after line %d", line, *prev)
	}
	*prev = line
	for _, s := range texts {
		if !utf8.ValidString(s) {
			t.Fatalf("line %d: invalid UTF-8 in a record: %q", line, s)
		}
	}
}

func FuzzReadPairs(f *testing.F) {
	f.Add([]byte("The owl sings.\tEl búho canta.\nBlue kites fly.\tLas cometas azules vuelan.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (x)\n"))
	f.Add([]byte("\ufeffa\tb\r\n\n\tx\ny\t\nz\n\xff\tq\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, replace := range []bool{false, true} {
			prev := 0
			n := 0
			for p, err := range ReadPairs(bytes.NewReader(data), ReadOptions{ReplaceInvalidUTF8: replace, MaxLineBytes: 64}) {
				if err != nil {
					continue
				}
				n++
				checkRecord(t, &prev, p.Line, p.Source, p.Target, p.Attribution)
				if p.Source == "" || p.Target == "" || strings.Contains(p.Source+p.Target+p.Attribution, "\t") {
					t.Fatalf("bad pair %+v", p)
				}
			}
			if n > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("%d pairs from %d lines", n, bytes.Count(data, []byte("\n"))+1)
			}
		}
	})
}

func FuzzReadLabeled(f *testing.F) {
	f.Add([]byte("review\tlabel\nA \"quoted\" film\t1\nbad\t0\n"), false, true, "review", "label")
	f.Add([]byte("\"a, b\",1\n\"x\"\"y\"\"\",0\n\"multi\nline\",1\n\"open,1\n"), true, false, "0", "1")
	f.Add([]byte("text,label\nx\n\"\"\"\",pos\n"), true, true, "text", "-1")
	f.Add([]byte("a\tb\tc\n"), false, false, "-1", "-")
	f.Fuzz(func(t *testing.T, data []byte, csv, header bool, text, label string) {
		prev := 0
		o := LabeledOptions{ReadOptions: ReadOptions{MaxLineBytes: 256}, CSV: csv, Header: header, Text: text, Label: label}
		for ex, err := range ReadLabeled(bytes.NewReader(data), o) {
			if err != nil {
				continue
			}
			checkRecord(t, &prev, ex.Line, ex.Text, ex.Label)
			if !csv && (strings.ContainsAny(ex.Text, "\t\n") || strings.ContainsAny(ex.Label, "\t\n")) {
				t.Fatalf("TSV field holds a tab or newline: %+v", ex)
			}
			if len(ex.Text) > len(data) {
				t.Fatalf("text longer than the input")
			}
		}
		prev = 0
		for ex, err := range ReadGLUE(bytes.NewReader(data), ReadOptions{}) {
			if err == nil {
				checkRecord(t, &prev, ex.Line, ex.Text, ex.Label)
			}
		}
	})
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"text": "great", "label": 1}`+"\n"+`{"text": "x", "label": "neg"}`+"\n"), "", "")
	f.Add([]byte(`{"a": {"b": "deep"}, "l": true}`+"\n[1]\nnull\n{\"text\":\"\\ud800\"}\n"), "a.b", "l")
	f.Add([]byte("{\"text\": \"caf\xe9\", \"label\": 0}\n"), "text", "-")
	f.Fuzz(func(t *testing.T, data []byte, text, label string) {
		for _, replace := range []bool{false, true} {
			prev := 0
			o := JSONLOptions{ReadOptions: ReadOptions{ReplaceInvalidUTF8: replace, MaxLineBytes: 512}, Text: text, Label: label}
			for ex, err := range ReadJSONL(bytes.NewReader(data), o) {
				if err != nil {
					continue
				}
				checkRecord(t, &prev, ex.Line, ex.Text, ex.Label)
			}
		}
	})
}
