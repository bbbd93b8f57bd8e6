package tokenize

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/rnnkit/rnnkit/internal/atomicfile"
)

// EncodeLines encodes each line on all cores (GOMAXPROCS workers); out[i]
// holds the ids of lines[i].
func EncodeLines(lines []string, t Tokenizer) [][]int32 {
	out := make([][]int32, len(lines))
	parallelFor(len(lines), func(i int) { out[i] = t.Encode(lines[i]) })
	return out
}

// parallelFor runs fn(0..n-1) on GOMAXPROCS workers, in blocks of indices.
func parallelFor(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	const block = 256
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				from := next
				next += block
				mu.Unlock()
				if from >= n {
					return
				}
				for i := from; i < min(from+block, n); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}

// LineOptions says how EncodeCached treats line ends.
type LineOptions struct {
	// StripNewline drops each line's "\n" (and "\r\n") before encoding.
	// Leave it false for Rune and Word tokenizers (the result then equals
	// encoding the whole file); set it for BPE, where a kept "\n" encodes
	// as an extra "▁".
	StripNewline bool
	// EOS appends </s> after every line.
	EOS bool
}

// cacheMagic starts every id cache file; the digit is the format version.
const cacheMagic = "RNNKIDS1"

// EncodeCached returns the ids of the file at corpusPath: the ids of each
// line, in order (see LineOptions), encoded on all cores. The ids are
// stored in cacheDir under a name made of sha256(corpus bytes) and
// sha256(tokenizer JSON + options), so a later call with the same corpus
// and tokenizer reads them back instead of encoding; any change to either
// makes a new entry. The file is written atomically; a damaged cache file is
// re-encoded and replaced.
func EncodeCached(cacheDir, corpusPath string, t Tokenizer, opts ...LineOptions) ([]int32, error) {
	var o LineOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	data, err := os.ReadFile(corpusPath)
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	tj, err := t.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("token cache: tokenizer: %w", err)
	}
	ch := sha256.Sum256(data)
	th := sha256.New()
	th.Write(tj)
	fmt.Fprintf(th, "\x00strip=%t eos=%t", o.StripNewline, o.EOS)
	name := hex.EncodeToString(ch[:8]) + "-" + hex.EncodeToString(th.Sum(nil)[:8]) + ".ids"
	path := filepath.Join(cacheDir, name)
	if ids, err := readIDs(path); err == nil {
		return ids, nil
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errBadCache) {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	ids := encodeCorpus(data, t, o)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	if err := atomicfile.WriteBytes(path, encodeIDs(ids)); err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	return ids, nil
}

// encodeCorpus encodes data line by line in parallel and concatenates.
func encodeCorpus(data []byte, t Tokenizer, o LineOptions) []int32 {
	var lines []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i+1], data[i+1:]
		}
		if o.StripNewline {
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		}
		lines = append(lines, string(line))
	}
	per := EncodeLines(lines, t)
	n := 0
	for _, p := range per {
		n += len(p)
		if o.EOS {
			n++
		}
	}
	ids := make([]int32, 0, n)
	for _, p := range per {
		ids = append(ids, p...)
		if o.EOS {
			ids = append(ids, EOS)
		}
	}
	return ids
}

var errBadCache = errors.New("damaged token cache file")

// encodeIDs lays out: magic, width (2 or 4 bytes per id), count, ids
// little-endian, sha256 of everything before it (truncated to 8 bytes).
func encodeIDs(ids []int32) []byte {
	width := 2
	for _, id := range ids {
		if id < 0 || id > 0xffff {
			width = 4
			break
		}
	}
	b := make([]byte, 0, len(cacheMagic)+9+width*len(ids)+8)
	b = append(b, cacheMagic...)
	b = append(b, byte(width))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(ids)))
	for _, id := range ids {
		if width == 2 {
			b = binary.LittleEndian.AppendUint16(b, uint16(id))
		} else {
			b = binary.LittleEndian.AppendUint32(b, uint32(id))
		}
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:8]...)
}

func readIDs(path string) ([]int32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeIDs(b)
}

func decodeIDs(b []byte) ([]int32, error) {
	h := len(cacheMagic) + 9
	if len(b) < h+8 || string(b[:len(cacheMagic)]) != cacheMagic {
		return nil, errBadCache
	}
	width := int(b[len(cacheMagic)])
	n := binary.LittleEndian.Uint64(b[len(cacheMagic)+1:])
	if (width != 2 && width != 4) || uint64(len(b)-h-8) != n*uint64(width) {
		return nil, errBadCache
	}
	sum := sha256.Sum256(b[:len(b)-8])
	if !bytes.Equal(sum[:8], b[len(b)-8:]) {
		return nil, errBadCache
	}
	ids := make([]int32, n)
	p := b[h:]
	for i := range ids {
		if width == 2 {
			ids[i] = int32(binary.LittleEndian.Uint16(p[2*i:]))
		} else {
			ids[i] = int32(binary.LittleEndian.Uint32(p[4*i:]))
		}
	}
	return ids, nil
}
