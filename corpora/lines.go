package corpora

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"unicode/utf8"
)

// DefaultMaxLineBytes is the longest line (or record, or file in a folder
// layout) a reader accepts by default: 128 MiB.
const DefaultMaxLineBytes = 128 << 20

// ErrLineTooLong and ErrInvalidUTF8 are wrapped by the *RecordError of a
// line that is too long or is not valid UTF-8.
var (
	ErrLineTooLong = errors.New("line too long")
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
)

// ReadOptions are the options every reader shares. The zero value is ready
// to use.
type ReadOptions struct {
	// Name is the file name used in error messages (e.g. "spa.txt").
	Name string
	// ReplaceInvalidUTF8 replaces each invalid byte sequence with U+FFFD
	// instead of reporting the line.
	ReplaceInvalidUTF8 bool
	// MaxLineBytes is the longest accepted line or record in bytes, without
	// its line ending; longer ones are reported and skipped without being
	// held in memory. 0 means DefaultMaxLineBytes.
	MaxLineBytes int
}

func (o ReadOptions) maxLine() int {
	if o.MaxLineBytes <= 0 {
		return DefaultMaxLineBytes
	}
	return o.MaxLineBytes
}

// RecordError reports one bad record. The reader that yields it goes on
// with the next record.
type RecordError struct {
	File string // file name (ReadOptions.Name, or a path inside a folder); may be empty
	Line int    // 1-based line number; 0 if not known
	Err  error
}

func (e *RecordError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *RecordError) Unwrap() error { return e.Err }

// Line is one line of a plain text file, without its line ending.
type Line struct {
	Text string
	Line int // 1-based line number
}

// ReadLines streams the lines of r without their line endings ("\n" or
// "\r\n"); a UTF-8 byte order mark at the start is dropped.
func ReadLines(r io.Reader, o ReadOptions) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		lr := newLineReader(r, o)
		for {
			s, n, err := lr.next()
			if err == io.EOF {
				return
			}
			if !yieldErr(err, yield) {
				return
			}
			if err == nil && !yield(Line{Text: s, Line: n}, nil) {
				return
			}
		}
	}
}

// yieldErr yields err if it is not nil and reports whether to go on: after
// a *RecordError, if the consumer wants more; never after another error.
func yieldErr[T any](err error, yield func(T, error) bool) bool {
	if err == nil {
		return true
	}
	var zero T
	var re *RecordError
	if !yield(zero, err) {
		return false
	}
	return errors.As(err, &re)
}

// lineReader splits a stream into lines with a bounded buffer.
type lineReader struct {
	br   *bufio.Reader
	o    ReadOptions
	max  int
	buf  []byte
	line int
	eof  bool
}

func newLineReader(r io.Reader, o ReadOptions) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), o: o, max: o.maxLine()}
}

func (lr *lineReader) errorf(line int, err error) *RecordError {
	return &RecordError{File: lr.o.Name, Line: line, Err: err}
}

// next returns the next line and its number. At the end it returns io.EOF;
// a too-long or invalid line is consumed and returned as a *RecordError;
// any other error is an I/O error.
func (lr *lineReader) next() (string, int, error) {
	if lr.eof {
		return "", 0, io.EOF
	}
	if cap(lr.buf) > 4<<20 {
		lr.buf = nil // do not keep a huge buffer after a huge line
	}
	lr.buf = lr.buf[:0]
	size, read := 0, false
	tooLong := false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(chunk) > 0 {
			read = true
		}
		size += len(chunk)
		if !tooLong {
			// Allow room for the "\r\n" line ending.
			if size > lr.max+2 {
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			lr.eof = true
			if !read {
				return "", 0, io.EOF
			}
			break
		}
		if err != nil {
			if lr.o.Name != "" {
				return "", 0, fmt.Errorf("%s: line %d: %w", lr.o.Name, lr.line+1, err)
			}
			return "", 0, fmt.Errorf("line %d: %w", lr.line+1, err)
		}
		break
	}
	lr.line++
	b := lr.buf
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		size--
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
			size--
		}
	}
	if tooLong || len(b) > lr.max {
		return "", lr.line, lr.errorf(lr.line, fmt.Errorf("%w: more than %d bytes (the limit is %d; set MaxLineBytes to raise it)", ErrLineTooLong, lr.max, lr.max))
	}
	if lr.line == 1 {
		b = trimBOM(b)
	}
	if !utf8.Valid(b) {
		if !lr.o.ReplaceInvalidUTF8 {
			return "", lr.line, lr.errorf(lr.line, invalidUTF8(b))
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), lr.line, nil
	}
	return string(b), lr.line, nil
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// invalidUTF8 describes where b first stops being UTF-8.
func invalidUTF8(b []byte) error {
	col := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("%w at column %d (byte %d, 0x%02x); fix the file or set ReplaceInvalidUTF8", ErrInvalidUTF8, col, i+1, b[i])
		}
		i += size
		col++
	}
	return ErrInvalidUTF8
}
