package embed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Vectors is a set of word vectors: Data is (len(Words), Dim), row i the
// vector of Words[i].
type Vectors struct {
	Words []string
	Dim   int
	Data  []float32
}

// Vector returns the row of word i, a view into Data.
func (v *Vectors) Vector(i int) []float32 { return v.Data[i*v.Dim : (i+1)*v.Dim] }

// Index returns the row of word, or -1. It scans Words; for many lookups build
// a map (Align does).
func (v *Vectors) Index(word string) int {
	for i, w := range v.Words {
		if w == word {
			return i
		}
	}
	return -1
}

// Format is a vector file format.
type Format int

const (
	// Auto detects the format: a ".bin" name or binary data after an
	// "N D" header is Word2VecBinary, other headed files Word2VecText, and a
	// file without header GloVe.
	Auto Format = iota
	// Word2VecText is word2vec's text format: an "N D" header, then one
	// "word v1 ... vD" line per word. fastText's .vec files are this format.
	Word2VecText
	// Word2VecBinary is word2vec's binary format: an "N D\n" header, then per
	// word its bytes, a space, D little-endian float32 and a newline.
	Word2VecBinary
	// GloVe is GloVe's text format: Word2VecText without the header.
	GloVe
)

// FastText is fastText's .vec format, identical to Word2VecText.
const FastText = Word2VecText

func (f Format) String() string {
	switch f {
	case Auto:
		return "auto"
	case Word2VecText:
		return "word2vec-text"
	case Word2VecBinary:
		return "word2vec-binary"
	case GloVe:
		return "glove"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses a format name: auto, text (word2vec, vec, fasttext),
// binary (bin), glove.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return Auto, nil
	case "text", "word2vec", "word2vec-text", "vec", "fasttext", "txt":
		return Word2VecText, nil
	case "binary", "bin", "word2vec-binary":
		return Word2VecBinary, nil
	case "glove":
		return GloVe, nil
	}
	return Auto, fmt.Errorf("unknown vector format %q (want auto, text, binary or glove)", s)
}

// maxPrealloc caps the rows preallocated from a header, so that a corrupt
// header cannot ask for an absurd allocation; larger files grow as read.
const maxPrealloc = 1 << 20

// ReadVectors reads a vector file in the given format (Auto detects it). The
// file is streamed; errors name the file and the line (text) or record
// (binary) at fault.
func ReadVectors(path string, format Format) (*Vectors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	if format == Auto {
		format, err = detectFormat(br, path)
		if err != nil {
			return nil, fmt.Errorf("embed: %s: %w", path, err)
		}
	}
	v, err := readVectors(br, format, path)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// ReadFrom reads vectors in a known format (not Auto) from r; name is used in
// error messages.
func ReadFrom(r io.Reader, format Format, name string) (*Vectors, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if format == Auto {
		var err error
		if format, err = detectFormat(br, name); err != nil {
			return nil, fmt.Errorf("embed: %s: %w", name, err)
		}
	}
	return readVectors(br, format, name)
}

func readVectors(br *bufio.Reader, format Format, name string) (*Vectors, error) {
	switch format {
	case Word2VecText:
		return readText(br, name, true)
	case GloVe:
		return readText(br, name, false)
	case Word2VecBinary:
		return readBinary(br, name)
	}
	return nil, fmt.Errorf("embed: %s: unknown format %v", name, format)
}

// detectFormat peeks at the start of the file.
func detectFormat(br *bufio.Reader, name string) (Format, error) {
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Auto, err
	}
	if len(head) == 0 {
		return Auto, errors.New("empty file")
	}
	nl := bytes.IndexByte(head, '\n')
	first := head
	if nl >= 0 {
		first = head[:nl]
	}
	if _, _, ok := parseHeader(first); !ok {
		return GloVe, nil
	}
	if strings.HasSuffix(strings.ToLower(name), ".bin") {
		return Word2VecBinary, nil
	}
	if nl < 0 {
		return Word2VecText, nil // header only
	}
	rest := head[nl+1:]
	if len(rest) > 4096 {
		rest = rest[:4096]
	}
	for _, b := range rest {
		if b == 0 || (b < 0x20 && b != '\n' && b != '\r' && b != '\t') {
			return Word2VecBinary, nil
		}
	}
	if !utf8.Valid(trimPartialRune(rest)) {
		return Word2VecBinary, nil
	}
	return Word2VecText, nil
}

func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

// parseHeader parses "N D".
func parseHeader(line []byte) (n, d int, ok bool) {
	f := bytes.Fields(line)
	if len(f) != 2 {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(string(f[0]))
	d, err2 := strconv.Atoi(string(f[1]))
	if err1 != nil || err2 != nil || n < 0 || d <= 0 {
		return 0, 0, false
	}
	return n, d, true
}

// readLine returns the next line without its line ending, however long.
func readLine(br *bufio.Reader, buf []byte) ([]byte, []byte, error) {
	buf = buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (len(buf) == 0 || !errors.Is(err, io.EOF)) {
			return nil, buf, err
		}
		line := bytes.TrimRight(buf, "\r\n")
		return line, buf, nil
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\v' || b == '\f' }

func readText(br *bufio.Reader, name string, header bool) (*Vectors, error) {
	v := &Vectors{}
	want := -1
	lineNo := 0
	var buf []byte
	var line []byte
	var err error
	var fields [][]byte
	if header {
		line, buf, err = readLine(br, buf)
		lineNo++
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("embed: %s: empty file, want an \"N D\" header", name)
			}
			return nil, fmt.Errorf("embed: %s: %w", name, err)
		}
		n, d, ok := parseHeader(line)
		if !ok {
			return nil, fmt.Errorf("embed: %s:1: want a header \"<count> <dimension>\", got %q (a GloVe file has no header: use format glove)", name, clip(line))
		}
		want, v.Dim = n, d
		v.Words = make([]string, 0, min(n, maxPrealloc))
		v.Data = make([]float32, 0, preallocFloats(n, d))
	}
	for {
		line, buf, err = readLine(br, buf)
		if errors.Is(err, io.EOF) {
			break
		}
		lineNo++
		if err != nil {
			return nil, fmt.Errorf("embed: %s:%d: %w", name, lineNo, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		fields = splitFields(fields[:0], line)
		if v.Dim == 0 { // GloVe: the numbers ending the first line set the dimension
			for v.Dim < len(fields)-1 && isNumber(fields[len(fields)-1-v.Dim]) {
				v.Dim++
			}
			if v.Dim < 1 {
				return nil, fmt.Errorf("embed: %s:%d: want \"word v1 ... vD\", got %q", name, lineNo, clip(line))
			}
		}
		if len(fields) < v.Dim+1 {
			return nil, fmt.Errorf("embed: %s:%d: dimension mismatch: %d values, want %d", name, lineNo, len(fields)-1, v.Dim)
		}
		nw := len(fields) - v.Dim
		var word string
		if nw == 1 {
			word = string(fields[0])
		} else {
			// Words with spaces (GloVe 840B has some): the last Dim fields
			// are the values; but a longer numeric line is a dimension error.
			if isNumber(fields[nw-1]) {
				return nil, fmt.Errorf("embed: %s:%d: dimension mismatch: %d values, want %d", name, lineNo, len(fields)-1, v.Dim)
			}
			word = string(bytes.Join(fields[:nw], []byte(" ")))
		}
		for j, f := range fields[nw:] {
			x, err := strconv.ParseFloat(string(f), 32)
			if err != nil {
				return nil, fmt.Errorf("embed: %s:%d: value %d of %q: malformed number %q", name, lineNo, j+1, clip([]byte(word)), clip(f))
			}
			v.Data = append(v.Data, float32(x))
		}
		v.Words = append(v.Words, word)
		if want >= 0 && len(v.Words) > want {
			return nil, fmt.Errorf("embed: %s:%d: more vectors than the %d the header announces", name, lineNo, want)
		}
	}
	if want >= 0 && len(v.Words) != want {
		return nil, fmt.Errorf("embed: %s:%d: truncated: the header announces %d vectors, the file has %d", name, lineNo, want, len(v.Words))
	}
	if v.Dim == 0 {
		return nil, fmt.Errorf("embed: %s: no vectors", name)
	}
	return v, nil
}

func isNumber(b []byte) bool {
	_, err := strconv.ParseFloat(string(b), 32)
	return err == nil
}

func splitFields(dst [][]byte, line []byte) [][]byte {
	i := 0
	for i < len(line) {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		if j > i {
			dst = append(dst, line[i:j])
		}
		i = j
	}
	return dst
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

func readBinary(br *bufio.Reader, name string) (*Vectors, error) {
	line, _, err := readLine(br, nil)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("embed: %s: empty file, want an \"N D\" header", name)
		}
		return nil, fmt.Errorf("embed: %s: %w", name, err)
	}
	n, d, ok := parseHeader(line)
	if !ok {
		return nil, fmt.Errorf("embed: %s: want a header \"<count> <dimension>\", got %q", name, clip(line))
	}
	v := &Vectors{Dim: d, Words: make([]string, 0, min(n, maxPrealloc)), Data: make([]float32, 0, preallocFloats(n, d))}
	// The vector is read in chunks of at most 4096 floats, so a header's
	// dimension cannot make the reader allocate what the file does not hold.
	raw := make([]byte, 4*min(d, 4096))
	var word []byte
	for i := 0; i < n; i++ {
		word = word[:0]
		for {
			b, err := br.ReadByte()
			if err != nil {
				return nil, fmt.Errorf("embed: %s: record %d of %d: truncated: unexpected end of file in the word", name, i+1, n)
			}
			if b == ' ' {
				break
			}
			if b == '\n' && len(word) == 0 {
				continue
			}
			if len(word) > 1<<16 {
				return nil, fmt.Errorf("embed: %s: record %d of %d: no space after a %d-byte word: not a word2vec binary file", name, i+1, n, len(word))
			}
			word = append(word, b)
		}
		for j0 := 0; j0 < d; j0 += len(raw) / 4 {
			chunk := raw[:4*min(len(raw)/4, d-j0)]
			if _, err := io.ReadFull(br, chunk); err != nil {
				return nil, fmt.Errorf("embed: %s: record %d of %d (%q): truncated: unexpected end of file in the vector", name, i+1, n, clip(word))
			}
			for j := 0; j < len(chunk)/4; j++ {
				x := math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*j:]))
				if x-x != 0 {
					return nil, fmt.Errorf("embed: %s: record %d of %d (%q): value %d is not finite", name, i+1, n, clip(word), j0+j+1)
				}
				v.Data = append(v.Data, x)
			}
		}
		v.Words = append(v.Words, string(word))
	}
	// Only line endings may follow.
	for {
		b, err := br.ReadByte()
		if err != nil {
			break
		}
		if b != '\n' && b != '\r' {
			return nil, fmt.Errorf("embed: %s: data after the %d records the header announces", name, n)
		}
	}
	return v, nil
}

// WriteText writes v in word2vec text format (fastText .vec), with the
// shortest decimal that reads back to the same float32.
func (v *Vectors) WriteText(w io.Writer) error {
	if err := v.checkWritable(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "%d %d\n", len(v.Words), v.Dim)
	var num []byte
	for i, word := range v.Words {
		bw.WriteString(word)
		for _, x := range v.Vector(i) {
			num = strconv.AppendFloat(append(num[:0], ' '), float64(x), 'g', -1, 32)
			bw.Write(num)
		}
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteBinary writes v in word2vec binary format.
func (v *Vectors) WriteBinary(w io.Writer) error {
	if err := v.checkWritable(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "%d %d\n", len(v.Words), v.Dim)
	raw := make([]byte, 4*v.Dim)
	for i, word := range v.Words {
		bw.WriteString(word)
		bw.WriteByte(' ')
		for j, x := range v.Vector(i) {
			binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(x))
		}
		bw.Write(raw)
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func (v *Vectors) checkWritable() error {
	if v.Dim <= 0 || len(v.Data) != len(v.Words)*v.Dim {
		return fmt.Errorf("embed: vectors have %d values for %d words of dimension %d", len(v.Data), len(v.Words), v.Dim)
	}
	for _, w := range v.Words {
		if w == "" || strings.ContainsAny(w, " \t\n\r\v\f") {
			return fmt.Errorf("embed: word %q cannot be written: empty or contains whitespace", w)
		}
	}
	return nil
}

// Save writes v to path atomically (temp file, fsync, rename) in
// Word2VecText or Word2VecBinary format (Auto: binary for a ".bin" name,
// text otherwise).
func (v *Vectors) Save(path string, format Format) (err error) {
	if format == Auto {
		format = Word2VecText
		if strings.HasSuffix(strings.ToLower(path), ".bin") {
			format = Word2VecBinary
		}
	}
	if format != Word2VecText && format != Word2VecBinary {
		return fmt.Errorf("embed: cannot write format %v (want word2vec text or binary)", format)
	}
	if err := v.checkWritable(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if format == Word2VecBinary {
		err = v.WriteBinary(tmp)
	} else {
		err = v.WriteText(tmp)
	}
	if err != nil {
		return fmt.Errorf("embed: writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("embed: writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("embed: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	return nil
}

// Align builds a (len(vocab), Dim) matrix whose row i is the vector of
// vocab[i] (the token of id i), zero for words not in v. With
// lowercaseFallback, a word not found as is is looked up lowercased. It
// returns the number of words found and the words not found, in id order.
func (v *Vectors) Align(vocab []string, lowercaseFallback bool) (matrix []float32, found int, oov []string) {
	matrix = make([]float32, len(vocab)*v.Dim)
	found, oov = v.AlignInto(matrix, vocab, lowercaseFallback)
	return matrix, found, oov
}

// AlignInto is Align writing into dst, (len(vocab), Dim): only the rows of
// words found are written, the others are left as they are. A dst of another
// size panics.
func (v *Vectors) AlignInto(dst []float32, vocab []string, lowercaseFallback bool) (found int, oov []string) {
	if len(dst) != len(vocab)*v.Dim {
		panic(fmt.Sprintf("embed: AlignInto: dst has %d values, want len(vocab)*Dim = %d*%d", len(dst), len(vocab), v.Dim))
	}
	index := make(map[string]int, len(v.Words))
	for i, w := range v.Words {
		if _, dup := index[w]; !dup { // the first (usually most frequent) wins
			index[w] = i
		}
	}
	for id, w := range vocab {
		j, ok := index[w]
		if !ok && lowercaseFallback {
			j, ok = index[strings.ToLower(w)]
		}
		if !ok {
			oov = append(oov, w)
			continue
		}
		copy(dst[id*v.Dim:(id+1)*v.Dim], v.Vector(j))
		found++
	}
	return found, oov
}

// preallocFloats is the capacity to reserve for n vectors of dimension d as
// declared by a header: never more than maxPrealloc rows or 1<<24 floats,
// so a header that lies about its size cannot make the reader allocate
// what the file does not hold (the slice still grows as data arrives).
func preallocFloats(n, d int) int {
	rows := min(n, maxPrealloc)
	if d <= 0 || rows <= 0 || rows > (1<<24)/d {
		return min(max(d, 0), 1<<24)
	}
	return rows * d
}
