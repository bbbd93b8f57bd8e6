package corpora

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
)

// Example is one labelled text (a review, a sentence).
type Example struct {
	Text  string
	Label string // as written in the data ("1", "pos", ...); the caller maps labels to classes
	File  string // the source file: ReadOptions.Name, or a path relative to the folder root
	Line  int    // 1-based line where the record starts (1 for a file per example)
	// ID and Rating come from IMDB-style file names <id>_<rating>.txt
	// (ReadFolder); Rating is 0 when the name carries none.
	ID     string
	Rating int
}

// NoLabel as LabeledOptions.Label or JSONLOptions.Label reads texts without
// labels.
const NoLabel = "-"

// LabeledOptions selects the layout of a delimited file.
type LabeledOptions struct {
	ReadOptions
	// CSV reads comma-separated values with RFC 4180 double quotes (a
	// quoted field may hold commas, "" for a quote, and line breaks).
	// Otherwise the file is tab-separated without any quoting: quotes are
	// ordinary characters, and a field cannot hold a tab or a line break
	// (the IMDB and GLUE TSV files are written this way).
	CSV bool
	// Comma overrides the separator (default '\t', or ',' with CSV).
	Comma rune
	// Header says the first record names the columns.
	Header bool
	// Text and Label select the columns: a header name, or a 0-based index
	// (negative indices count from the end: "-1" is the last column). The
	// defaults are "0" and "1"; Label NoLabel reads no label.
	Text, Label string
}

// ReadLabeled streams a labelled TSV or CSV file. With the zero options it
// reads the IMDB-style "review<TAB>label" file without a header. A row with
// too few columns, a bad quote or invalid UTF-8 is a *RecordError; a header
// without the selected column is an error that ends the sequence. Blank lines
// are skipped.
func ReadLabeled(r io.Reader, o LabeledOptions) iter.Seq2[Example, error] {
	return readLabeled(r, o, false)
}

// ReadGLUE streams a GLUE TSV file with a header, such as SST-2's
// "sentence<TAB>label". The label column is optional (GLUE test files have
// "index<TAB>sentence"), and then Label is "".
func ReadGLUE(r io.Reader, o ReadOptions) iter.Seq2[Example, error] {
	return readLabeled(r, LabeledOptions{ReadOptions: o, Header: true, Text: "sentence", Label: "label"}, true)
}

func readLabeled(r io.Reader, o LabeledOptions, optionalLabel bool) iter.Seq2[Example, error] {
	return func(yield func(Example, error) bool) {
		comma := o.Comma
		if comma == 0 {
			comma = '\t'
			if o.CSV {
				comma = ','
			}
		}
		if comma == '"' || comma == '\n' || comma == '\r' {
			yield(Example{}, fmt.Errorf("corpora: separator %q cannot be used", comma))
			return
		}
		text, label := o.Text, o.Label
		if text == "" {
			text = "0"
		}
		if label == "" {
			label = "1"
		}
		lr := newLineReader(r, o.ReadOptions)
		rr := &rowReader{lr: lr, comma: string(comma), csv: o.CSV, max: lr.max}
		ti, li := 0, 0
		resolved := false
		if !o.Header {
			var err error
			if ti, err = columnIndex(text, nil); err != nil {
				yield(Example{}, err)
				return
			}
			if label != NoLabel {
				if li, err = columnIndex(label, nil); err != nil {
					yield(Example{}, err)
					return
				}
			}
			resolved = true
		}
		for {
			row, n, err := rr.next()
			if err == io.EOF {
				if !resolved {
					yield(Example{}, &RecordError{File: o.Name, Err: errors.New("no header: the file is empty")})
				}
				return
			}
			if err != nil {
				if !yieldErr(err, yield) {
					return
				}
				continue
			}
			if !resolved {
				resolved = true
				if ti, err = columnIndex(text, row); err != nil {
					yield(Example{}, &RecordError{File: o.Name, Line: n, Err: err})
					return
				}
				if label != NoLabel {
					li, err = columnIndex(label, row)
					if err != nil && optionalLabel {
						label = NoLabel
					} else if err != nil {
						yield(Example{}, &RecordError{File: o.Name, Line: n, Err: err})
						return
					}
				}
				continue
			}
			ex := Example{File: o.Name, Line: n}
			var ok bool
			if ex.Text, ok = field(row, ti); !ok {
				if !yield(Example{}, lr.errorf(n, fmt.Errorf("text column %s missing: the row has %d columns", text, len(row)))) {
					return
				}
				continue
			}
			if label != NoLabel {
				if ex.Label, ok = field(row, li); !ok {
					if !yield(Example{}, lr.errorf(n, fmt.Errorf("label column %s missing: the row has %d columns", label, len(row)))) {
						return
					}
					continue
				}
				ex.Label = strings.TrimSpace(ex.Label)
			}
			if !yield(ex, nil) {
				return
			}
		}
	}
}

func field(row []string, i int) (string, bool) {
	if i < 0 {
		i += len(row)
	}
	if i < 0 || i >= len(row) {
		return "", false
	}
	return row[i], true
}

// columnIndex resolves a column given by header name or index.
func columnIndex(col string, header []string) (int, error) {
	for i, h := range header {
		if strings.TrimSpace(h) == col {
			return i, nil
		}
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), col) {
			return i, nil
		}
	}
	i, err := strconv.Atoi(col)
	if err != nil {
		if header == nil {
			return 0, fmt.Errorf("corpora: column %q is a name, but the file has no header (set Header, or give a 0-based index)", col)
		}
		return 0, fmt.Errorf("no column %q in the header (columns: %s)", col, strings.Join(header, ", "))
	}
	if header != nil {
		if _, ok := field(header, i); !ok {
			return 0, fmt.Errorf("column %d does not exist: the header has %d columns", i, len(header))
		}
	}
	return i, nil
}

// rowReader splits lines into fields: plain splitting for TSV, RFC 4180
// for CSV (a quoted field may continue on the next lines).
type rowReader struct {
	lr    *lineReader
	comma string
	csv   bool
	max   int
}

// next returns the next non-blank row and the line it starts on.
func (rr *rowReader) next() ([]string, int, error) {
	for {
		s, n, err := rr.lr.next()
		if err != nil {
			return nil, n, err
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		if !rr.csv {
			return strings.Split(s, rr.comma), n, nil
		}
		row, err := rr.parseCSV(s, n)
		return row, n, err
	}
}

// parseCSV parses one CSV record starting with line s (line number n),
// reading continuation lines while a quoted field is open.
func (rr *rowReader) parseCSV(s string, n int) ([]string, error) {
	var fields []string
	var sb strings.Builder
	size := len(s)
	for {
		// At the start of a field.
		if !strings.HasPrefix(s, `"`) {
			i := strings.Index(s, rr.comma)
			if i < 0 {
				return append(fields, s), nil
			}
			fields = append(fields, s[:i])
			s = s[i+len(rr.comma):]
			continue
		}
		// A quoted field.
		s = s[1:]
		sb.Reset()
		for {
			i := strings.IndexByte(s, '"')
			if i < 0 {
				// The field goes on on the next line.
				sb.WriteString(s)
				sb.WriteByte('\n')
				next, _, err := rr.lr.next()
				if err == io.EOF {
					return nil, rr.lr.errorf(n, errors.New(`quoted field not closed before the end of the file`))
				}
				if err != nil {
					return nil, err
				}
				size += len(next) + 1
				if size > rr.max {
					return nil, rr.lr.errorf(n, fmt.Errorf("%w: a quoted record of more than %d bytes (the limit is %d)", ErrLineTooLong, rr.max, rr.max))
				}
				s = next
				continue
			}
			sb.WriteString(s[:i])
			s = s[i+1:]
			if strings.HasPrefix(s, `"`) { // "" is a quote
				sb.WriteByte('"')
				s = s[1:]
				continue
			}
			break
		}
		fields = append(fields, sb.String())
		if s == "" {
			return fields, nil
		}
		if !strings.HasPrefix(s, rr.comma) {
			return nil, rr.lr.errorf(n, fmt.Errorf("unexpected %q after a closing quote (a quote inside a quoted field is written \"\")", firstRune(s)))
		}
		s = s[len(rr.comma):]
		if s == "" {
			return append(fields, ""), nil
		}
	}
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}
