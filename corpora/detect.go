package corpora

import (
	"bufio"
	"iter"
	"os"
	"path/filepath"
	"strings"
)

// ReadExamples streams the labelled examples at path, whatever the layout
// of the sentiment corpora: a folder per class (ReadFolder, e.g.
// aclImdb/train), a .jsonl file (ReadJSONL with the fields "text" and
// "label"), or a TSV file: with a header naming a "sentence" or "text"
// column and a "label" column (GLUE, ReadGLUE-style), or without a header as
// text<TAB>label with the label in the last column (the IMDB train.tsv, the
// UCI files). o.Name defaults to path. The file is opened when iteration
// starts and closed when it ends.
func ReadExamples(path string, o ReadOptions) iter.Seq2[Example, error] {
	return func(yield func(Example, error) bool) {
		st, err := os.Stat(path)
		if err != nil {
			yield(Example{}, err)
			return
		}
		if st.IsDir() {
			for ex, err := range ReadFolder(path, FolderOptions{ReadOptions: o}) {
				if !yield(ex, err) {
					return
				}
			}
			return
		}
		if o.Name == "" {
			o.Name = path
		}
		f, err := os.Open(path)
		if err != nil {
			yield(Example{}, err)
			return
		}
		defer f.Close()
		var seq iter.Seq2[Example, error]
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jsonl", ".ndjson":
			seq = ReadJSONL(f, JSONLOptions{ReadOptions: o})
		default:
			br := bufio.NewReader(f)
			lo := LabeledOptions{ReadOptions: o, Label: "-1"}
			if first, _ := br.Peek(256); len(first) > 0 {
				head := strings.ToLower(strings.SplitN(string(trimBOM(first)), "\n", 2)[0])
				cols := strings.Split(strings.TrimRight(head, "\r"), "\t")
				text := ""
				for _, c := range cols {
					if c == "sentence" || c == "text" || c == "review" {
						text = c
					}
				}
				if text != "" {
					lo = LabeledOptions{ReadOptions: o, Header: true, Text: text, Label: "label"}
				}
			}
			seq = readLabeled(br, lo, lo.Header)
		}
		for ex, err := range seq {
			if !yield(ex, err) {
				return
			}
		}
	}
}

// ReadPairsFile streams the pairs of the Tatoeba-style file at path (see
// ReadPairs). o.Name defaults to path.
func ReadPairsFile(path string, o ReadOptions) iter.Seq2[Pair, error] {
	return func(yield func(Pair, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(Pair{}, err)
			return
		}
		defer f.Close()
		if o.Name == "" {
			o.Name = path
		}
		for p, err := range ReadPairs(f, o) {
			if !yield(p, err) {
				return
			}
		}
	}
}
