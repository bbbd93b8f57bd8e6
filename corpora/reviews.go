package corpora

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"unicode/utf8"
)

// TextError says why bytes are not a UTF-8 text (CheckText).
type TextError struct {
	// NUL marks binary input: a NUL byte at Offset, among the first 8000
	// bytes. Otherwise Byte, at Offset on the 1-based Line, is not valid
	// UTF-8.
	NUL    bool
	Offset int
	Line   int
	Byte   byte
}

func (e *TextError) Error() string {
	if e.NUL {
		return fmt.Sprintf("binary file (NUL byte at offset %d); give a UTF-8 text file", e.Offset)
	}
	return fmt.Sprintf("invalid UTF-8 on line %d (byte 0x%02x at offset %d); convert the file to UTF-8", e.Line, e.Byte, e.Offset)
}

// CheckText returns a *TextError when b is not a UTF-8 text: when one of
// its first 8000 bytes is NUL (a binary file) or it is not valid UTF-8.
func CheckText(b []byte) error {
	if i := bytes.IndexByte(b[:min(len(b), 8000)], 0); i >= 0 {
		return &TextError{NUL: true, Offset: i}
	}
	if utf8.Valid(b) {
		return nil
	}
	line := 1
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return &TextError{Offset: i, Line: line, Byte: b[i]}
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return nil
}

// ReviewText returns b as a review: an error when it is empty (nothing but
// white space) or not a UTF-8 text (CheckText).
func ReviewText(b []byte) (string, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return "", errors.New("file is empty")
	}
	if err := CheckText(b); err != nil {
		return "", err
	}
	return string(b), nil
}

// ReadReview reads the file at path (stdin for "-") as one review of at
// most maxBytes bytes (ReviewText). Its errors do not repeat the path.
func ReadReview(path string, stdin io.Reader, maxBytes int) (string, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", errors.Unwrap(err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "", errors.Unwrap(err)
		}
		if st.IsDir() {
			return "", errors.New("is a directory")
		}
		if st.Size() > int64(maxBytes) {
			return "", fmt.Errorf("file of %.1f MB is too large for one review (the limit is %d MB)", float64(st.Size())/1e6, maxBytes>>20)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	if err != nil {
		return "", unwrapPathErr(err)
	}
	if len(b) > maxBytes {
		return "", fmt.Errorf("more than %d MB: too large for one review", maxBytes>>20)
	}
	return ReviewText(b)
}

// Review is one review WalkReviews found, or a problem in its place.
type Review struct {
	Path string // the file, or "-" for standard input
	Line int    // with Lines: the record's line (0 for a problem of the whole file)
	Text string // with Lines: the record's text (without, the file is the review: ReadReview)
	Err  error  // a missing file, a bad record...
	Skip bool   // a folder entry that is skipped (Err says why), not a failure
}

// ReviewOptions configure WalkReviews. The zero value walks files and
// folders, one review a file, and reads nothing.
type ReviewOptions struct {
	// Lines makes each record of each file one review, read by ReadTexts
	// with Text; Text.Format is resolved for each file by TextFormat and
	// Text.Name is left out (a Review names its file itself).
	Lines bool
	Text  TextOptions
	// Stdin is what the path "-" reads.
	Stdin io.Reader
	// Walk configures the walk of a folder (WalkFiles).
	Walk WalkOptions
}

// WalkReviews streams the reviews under paths, in order: files as given,
// "-" for Stdin, folders recursively through WalkFiles (hidden entries
// skipped; entries that are not regular files and symbolic links to
// folders yielded with Skip set, never opened). Without Lines a file is one
// review, which the consumer reads (ReadReview), so that a folder of
// millions of files is streamed in bounded memory; with Lines each record
// is one, read here. A problem takes a review's place: a missing path, a
// bad record (Line set; the file goes on), a file that cannot be read or
// has no records (Line 0; the file ends).
func WalkReviews(paths []string, o ReviewOptions) iter.Seq[Review] {
	return func(yield func(Review) bool) {
		for _, p := range paths {
			if p == "-" {
				if !reviewsOf(p, o, yield) {
					return
				}
				continue
			}
			st, err := os.Stat(p)
			switch {
			case err != nil:
				if !yield(Review{Path: p, Err: errors.Unwrap(err)}) {
					return
				}
			case st.IsDir():
				for f, err := range WalkFiles(p, o.Walk) {
					var re *RecordError
					switch {
					case err == nil:
						if !reviewsOf(f, o, yield) {
							return
						}
					case errors.As(err, &re):
						skip := errors.Is(err, ErrNotRegular) || errors.Is(err, ErrSymlinkDir)
						if !yield(Review{Path: re.File, Err: re.Err, Skip: skip}) {
							return
						}
					default:
						if !yield(Review{Path: p, Err: err}) {
							return
						}
					}
				}
			default:
				if !reviewsOf(p, o, yield) {
					return
				}
			}
		}
	}
}

// reviewsOf yields the reviews of the file p; false means the consumer
// stopped.
func reviewsOf(p string, o ReviewOptions, yield func(Review) bool) bool {
	if !o.Lines {
		return yield(Review{Path: p})
	}
	format, err := TextFormat(p, o.Text)
	if err != nil {
		return yield(Review{Path: p, Err: err})
	}
	r := o.Stdin
	if p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return yield(Review{Path: p, Err: errors.Unwrap(err)})
		}
		defer f.Close()
		r = f
	}
	to := o.Text
	to.Format, to.Name = format, ""
	n := 0
	for ex, err := range ReadTexts(r, to) {
		n++
		var re *RecordError
		switch {
		case err == nil:
			if !yield(Review{Path: p, Line: ex.Line, Text: ex.Text}) {
				return false
			}
		case errors.As(err, &re) && re.Line > 0:
			if !yield(Review{Path: p, Line: re.Line, Err: re.Err}) {
				return false
			}
		default: // a header or I/O error ends the file
			return yield(Review{Path: p, Err: unwrapPathErr(err)})
		}
	}
	if n == 0 {
		return yield(Review{Path: p, Err: errors.New("no reviews: the input is empty")})
	}
	return true
}
