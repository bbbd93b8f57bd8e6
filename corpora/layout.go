package corpora

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// checkLayout checks that the file or folder at path (fi its Lstat-free
// Stat) looks like corpus c, so that a wrong path is refused at import
// rather than at the first training run. A file may stand for a folder
// corpus when it is in a format rnnkit reads for it (a TSV of labelled
// reviews for imdb, say): only what a reader needs is checked.
func checkLayout(c Corpus, path string, fi os.FileInfo) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("import %s: %s %s; expected %s", c.Name, path, fmt.Sprintf(format, a...), c.Layout)
	}
	if fi.IsDir() {
		has := func(rel string) bool {
			_, err := os.Stat(filepath.Join(path, filepath.FromSlash(rel)))
			return err == nil
		}
		switch c.Format {
		case FormatFolder:
			for _, p := range []string{"train/pos", "train/neg", "test/pos", "test/neg", "pos", "neg"} {
				if has(p) {
					return nil
				}
			}
			return bad("has no train/pos, train/neg, test/pos, test/neg, pos or neg folder")
		case FormatGLUE:
			if has("train.tsv") || has("dev.tsv") {
				return nil
			}
			return bad("has no train.tsv or dev.tsv")
		case FormatLabeled:
			if m, _ := filepath.Glob(filepath.Join(path, "*_labelled.txt")); len(m) > 0 {
				return nil
			}
			return bad("has no *_labelled.txt file")
		}
		return bad("is a folder, but this corpus is one file")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", c.Name, err)
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := f.Read(head)
	head = head[:n]
	if n == 0 {
		return bad("is empty")
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return bad("is a binary file (NUL byte at offset %d), not text", i)
	}
	text := head
	if n == cap(head) { // the window may end inside a rune
		for i := 0; i < utf8.UTFMax-1 && !utf8.Valid(text); i++ {
			text = text[:len(text)-1]
		}
	}
	if !utf8.Valid(text) {
		return bad("is not UTF-8 text")
	}
	first, _, _ := strings.Cut(strings.TrimLeft(string(head), "\n"), "\n")
	if c.Format != FormatText && !strings.Contains(first, "\t") {
		return bad("has no tab in its first line %q (want tab-separated columns)", clipLine(first))
	}
	return nil
}

func clipLine(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "..."
	}
	return s
}
