package rnn

// Safetensors reading and writing (https://github.com/huggingface/safetensors).
//
// Layout: an 8-byte little-endian u64 N, then N bytes of JSON header (padded
// with spaces), then the data area. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} with offsets relative to
// the start of the data area, and may hold "__metadata__": {string: string}.
// Tensors are row-major, little-endian, and tile the data area exactly.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// DType is a safetensors element type.
type DType string

// Element types rnnkit reads and WriteSafetensors writes.
const (
	F32  DType = "F32"
	F16  DType = "F16"  // IEEE 754 half precision
	BF16 DType = "BF16" // bfloat16: the top 16 bits of a float32

	// Q8 ("int8" in the docs and the CLI) stores weight matrices as
	// safetensors I8 with one F32 scale per row and every other tensor as
	// F16 (F32 if F16 would overflow): see Q8MinElements, Q8ScaleSuffix and
	// docs/FORMAT.md. As a tensor's dtype (TensorInfo.DType) it is such an
	// int8 matrix; ReadSafetensors dequantizes it to float32.
	Q8 DType = "I8"
)

// Size is the number of bytes of one element, or 0 for an unsupported type.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	case Q8:
		return 1
	}
	return 0
}

// Tensor is a named row-major float32 tensor; len(Data) is the product of
// Shape (1 for a scalar, Shape == nil).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Limits on what ReadSafetensors accepts. The header cap is the same as the
// reference implementation's (100 MB); no real model comes near either.
const (
	maxHeaderLen = 100 << 20
	maxRank      = 64
	metadataKey  = "__metadata__"
)

// ErrFormat is wrapped by every error ReadSafetensors returns because the
// input is not a valid safetensors file (as opposed to an I/O error).
var ErrFormat = errors.New("invalid safetensors file")

type formatErrKind int

const (
	errInvalid     formatErrKind = iota // a safetensors file, but damaged or inconsistent
	errNotST                            // does not look like safetensors at all
	errTruncated                        // the file ends before the header says it does
	errUnsupported                      // valid, but a dtype rnnkit does not read
)

// formatError describes a malformed file; msg is phrased to follow
// "model file x: ".
type formatError struct {
	kind formatErrKind
	msg  string
}

func (e *formatError) Error() string        { return "safetensors: " + e.msg }
func (e *formatError) Is(target error) bool { return target == ErrFormat }

func badf(kind formatErrKind, format string, args ...any) error {
	return &formatError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// headerEntry is one tensor of the JSON header. Pointers tell a missing field
// from a zero one.
type headerEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// tensorSpec is a validated header entry.
type tensorSpec struct {
	name       string
	dtype      DType
	shape      []int
	numel      int64
	begin, end int64
	scale      *tensorSpec // the F32 scales of an I8 (Q8) tensor
}

// ReadSafetensors reads a safetensors file of the given size, converting F32,
// F16 and BF16 tensors to float32 and dequantizing I8 (Q8) matrices with
// their per-row scales, which are not returned as tensors of their own.
// Tensors are returned sorted by name; the metadata map is never nil.
//
// The whole header is validated before any tensor is allocated: the header
// length against the file size, JSON syntax, dtypes, shapes, and that the
// tensors' byte ranges have exactly the size their shapes need and tile the
// data area without gaps or overlaps. So the memory allocated is bounded by a
// small multiple of size, whatever the file declares. An I8 tensor must be
// 2-D and have its scales (Q8ScaleSuffix) with one finite, non-negative F32
// value per row, and its values must lie in [-127, 127]. Malformed input
// returns an error wrapping ErrFormat; it never panics.
func ReadSafetensors(r io.ReaderAt, size int64) ([]Tensor, map[string]string, error) {
	specs, meta, dataStart, err := readHeader(r, size)
	if err != nil {
		return nil, nil, err
	}

	// Everything is consistent with the file size; now allocate and read.
	out := make([]Tensor, len(specs))
	var chunk []byte
	for i, s := range specs {
		out[i] = Tensor{Name: s.name, Shape: s.shape, Data: make([]float32, s.numel)}
		if err := readTensor(r, size, dataStart, s, out[i].Data, &chunk, false); err != nil {
			return nil, nil, err
		}
	}
	return out, meta, nil
}

// readTensor reads the values of tensor s (from a header read by
// readHeader) into dst (s.numel values) as float32, dequantizing I8.
// *chunk is a read buffer kept across calls. With finite, a NaN or ±Inf
// value is errNonFinite, found while the values are in cache (int8
// values are finite by construction: their scales are checked).
func readTensor(r io.ReaderAt, size, dataStart int64, s tensorSpec, dst []float32, chunk *[]byte, finite bool) error {
	if s.dtype == Q8 {
		_, err := readQ8(r, size, dataStart, s, dst, nil)
		return err
	}
	es := int64(s.dtype.Size())
	const chunkElems = 1 << 14
	if *chunk == nil && s.numel > 0 {
		*chunk = make([]byte, chunkElems*4)
	}
	for done := int64(0); done < s.numel; {
		m := min(s.numel-done, chunkElems)
		b := (*chunk)[:m*es]
		if err := readFull(r, b, dataStart+s.begin+done*es, size); err != nil {
			return err
		}
		decode(dst[done:done+m], b, s.dtype)
		if finite && !allFinite(dst[done:done+m]) {
			return errNonFinite
		}
		done += m
	}
	return nil
}

// errNonFinite is readTensor's error for a NaN or ±Inf value.
var errNonFinite = errors.New("the weights hold NaN or Inf values; the file is damaged")

// TensorInfo describes one tensor of a safetensors header.
type TensorInfo struct {
	Name  string `json:"name"`
	DType DType  `json:"dtype"`
	Shape []int  `json:"shape"`
}

// ReadSafetensorsHeader reads and validates only the header of a
// safetensors file of the given size, exactly as ReadSafetensors does,
// without reading any tensor data: the tensors (sorted by name) and the
// metadata (never nil). An int8 matrix is listed once, with DType Q8 ("I8");
// its scale tensor is not listed. The values of the scales and of the int8
// elements are data, which only ReadSafetensors checks.
func ReadSafetensorsHeader(r io.ReaderAt, size int64) ([]TensorInfo, map[string]string, error) {
	specs, meta, _, err := readHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	out := make([]TensorInfo, len(specs))
	for i, s := range specs {
		out[i] = TensorInfo{Name: s.name, DType: s.dtype, Shape: s.shape}
	}
	return out, meta, nil
}

// readHeader reads and validates the header; dataStart is the offset of the
// data area.
func readHeader(r io.ReaderAt, size int64) (specs []tensorSpec, meta map[string]string, dataStart int64, err error) {
	if size <= 0 {
		return nil, nil, 0, badf(errNotST, "the file is empty")
	}
	if size < 8 {
		return nil, nil, 0, badf(errTruncated, "truncated (the file has %d bytes, fewer than the 8-byte header length)", size)
	}
	var lenBuf [8]byte
	if err := readFull(r, lenBuf[:], 0, size); err != nil {
		return nil, nil, 0, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderLen {
		return nil, nil, 0, badf(errNotST, "its first 8 bytes give a header length of %d bytes, more than the %d allowed", n, maxHeaderLen)
	}
	if n < 2 {
		return nil, nil, 0, badf(errNotST, "header length %d is too short for a JSON object", n)
	}
	hlen := int64(n)
	if 8+hlen > size {
		// Tell a cut-off file from something else that happens to start
		// with a plausible number: a safetensors header starts with '{'.
		var first [1]byte
		if size == 8 || readFull(r, first[:], 8, size) == nil && first[0] == '{' {
			return nil, nil, 0, badf(errTruncated, "truncated (header says the JSON header is %d bytes, but only %d bytes follow the length)", hlen, size-8)
		}
		return nil, nil, 0, badf(errNotST, "its first 8 bytes give a header length of %d bytes, but the file has only %d", hlen, size)
	}
	header := make([]byte, hlen)
	if err := readFull(r, header, 8, size); err != nil {
		return nil, nil, 0, err
	}
	specs, meta, err = parseHeader(header, size-8-hlen)
	if err != nil {
		return nil, nil, 0, err
	}
	return specs, meta, 8 + hlen, nil
}

// readFull reads exactly len(b) bytes at off. A short read means the file is
// shorter than the size the caller gave.
func readFull(r io.ReaderAt, b []byte, off, size int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badf(errTruncated, "truncated (could read only %d of %d bytes at offset %d of a file said to have %d)", n, len(b), off, size)
	}
	return fmt.Errorf("safetensors: reading %d bytes at offset %d: %w", len(b), off, err)
}

// parseHeader validates the JSON header against a data area of dataLen bytes.
func parseHeader(header []byte, dataLen int64) ([]tensorSpec, map[string]string, error) {
	// The header may be padded with trailing spaces, nothing else.
	body := bytes.TrimRight(header, " ")
	if len(body) == 0 || body[0] != '{' {
		return nil, nil, badf(errNotST, "the header does not start with a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, badf(errNotST, "the header is not a JSON object")
	}
	meta := map[string]string{}
	var specs []tensorSpec
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, badf(errInvalid, "the JSON header is malformed: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, badf(errInvalid, "the JSON header is malformed: expected a key, got %v", tok)
		}
		if name == "" {
			return nil, nil, badf(errInvalid, "the header has a tensor with an empty name")
		}
		if seen[name] {
			return nil, nil, badf(errInvalid, "the header lists %q twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, badf(errInvalid, "the JSON header is malformed at %q: %v", name, err)
		}
		if name == metadataKey {
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, nil, badf(errInvalid, "%s is not an object of strings: %s", metadataKey, clip(raw))
			}
			if meta == nil { // "null"
				meta = map[string]string{}
			}
			continue
		}
		s, err := parseEntry(name, raw)
		if err != nil {
			return nil, nil, err
		}
		specs = append(specs, s)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, badf(errInvalid, "the JSON header is malformed: the object is not closed")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, badf(errInvalid, "the JSON header has trailing data after the object")
	}

	// The tensors must tile [0, dataLen) exactly: sorted by offsets, each
	// begins where the previous one ended.
	byOff := slices.Clone(specs)
	sort.Slice(byOff, func(i, j int) bool {
		if byOff[i].begin != byOff[j].begin {
			return byOff[i].begin < byOff[j].begin
		}
		return byOff[i].end < byOff[j].end
	})
	var pos int64
	var prev string
	for _, s := range byOff {
		switch {
		case s.begin < pos:
			return nil, nil, badf(errInvalid, "tensor %q (bytes %d-%d) overlaps tensor %q (ending at %d)", s.name, s.begin, s.end, prev, pos)
		case s.begin > pos:
			return nil, nil, badf(errInvalid, "there is a gap in the data area before tensor %q (bytes %d-%d; the previous tensor ends at %d)", s.name, s.begin, s.end, pos)
		}
		pos, prev = s.end, s.name
	}
	if pos > dataLen {
		return nil, nil, badf(errTruncated, "truncated (header says %d bytes of tensor data, file has %d)", pos, dataLen)
	}
	if pos < dataLen {
		return nil, nil, badf(errInvalid, "%d unexpected bytes after the last tensor (header says %d bytes of tensor data, file has %d)", dataLen-pos, pos, dataLen)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].name < specs[j].name })
	specs, err := pairQ8Scales(specs)
	if err != nil {
		return nil, nil, err
	}
	return specs, meta, nil
}

// parseEntry validates one tensor's header entry. Offsets are checked against
// the declared data size later, so a truncated file is reported as such.
func parseEntry(name string, raw json.RawMessage) (tensorSpec, error) {
	var e headerEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return tensorSpec{}, badf(errInvalid, "tensor %q has a malformed entry %s: %v", name, clip(raw), err)
	}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return tensorSpec{}, badf(errInvalid, "tensor %q needs dtype, shape and data_offsets: %s", name, clip(raw))
	}
	s := tensorSpec{name: name, dtype: DType(*e.DType)}
	es := int64(s.dtype.Size())
	if es == 0 {
		return tensorSpec{}, badf(errUnsupported, "tensor %q has dtype %q; rnnkit reads F32, F16, BF16 and I8 (int8 matrices with per-row scales)", name, *e.DType)
	}
	if len(*e.Shape) > maxRank {
		return tensorSpec{}, badf(errInvalid, "tensor %q has %d dimensions, more than %d", name, len(*e.Shape), maxRank)
	}
	// Bound the product so it cannot overflow; whether the data fits in
	// the file is checked once all entries are read.
	limit := int64(1<<62) / es
	s.numel = 1
	s.shape = make([]int, len(*e.Shape))
	zero := slices.Contains(*e.Shape, 0)
	for i, d := range *e.Shape {
		if d < 0 || int64(int(d)) != d {
			return tensorSpec{}, badf(errInvalid, "tensor %q has an invalid dimension in shape %v", name, *e.Shape)
		}
		s.shape[i] = int(d)
		if zero {
			continue
		}
		if s.numel > limit/d {
			return tensorSpec{}, badf(errInvalid, "tensor %q has an impossibly large shape %v", name, *e.Shape)
		}
		s.numel *= d
	}
	if zero {
		s.numel = 0
	}
	if len(*e.DataOffsets) != 2 {
		return tensorSpec{}, badf(errInvalid, "tensor %q has data_offsets %v; want [begin, end]", name, *e.DataOffsets)
	}
	s.begin, s.end = (*e.DataOffsets)[0], (*e.DataOffsets)[1]
	if s.begin < 0 || s.end < s.begin {
		return tensorSpec{}, badf(errInvalid, "tensor %q has invalid data_offsets [%d, %d]", name, s.begin, s.end)
	}
	if s.end-s.begin != s.numel*es {
		return tensorSpec{}, badf(errInvalid, "tensor %q has shape %v of %s, which needs %d bytes, but data_offsets [%d, %d] span %d", name, *e.Shape, s.dtype, s.numel*es, s.begin, s.end, s.end-s.begin)
	}
	return s, nil
}

// clip shortens raw JSON for an error message.
func clip(raw []byte) string {
	const n = 80
	if len(raw) > n {
		return strconv.Quote(string(raw[:n])) + "..."
	}
	return string(raw)
}

// decode converts little-endian elements of b to float32.
func decode(dst []float32, b []byte, dt DType) {
	switch dt {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = kernel.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	}
}

// WriteSafetensors writes tensors and string metadata as a safetensors file
// with elements of the given dtype: F32, F16 or BF16 (conversions round to
// nearest, ties to even), or Q8, which stores each tensor as Q8DTypeOf
// says: weight matrices as I8 with per-row F32 scales, the rest as F16 (F32
// where F16 would overflow). The data area holds the F32 tensors, then the
// 2-byte ones, then the I8 ones, each group sorted by name (as the
// safetensors library orders them, so every tensor is aligned to its element
// size), and the header lists them in that order, metadata keys sorted; a
// file of one dtype is thus sorted by name, and equal inputs give identical
// bytes. A finite value that overflows the dtype to infinity is an error, as
// are a non-finite value in a matrix to quantize, duplicate or empty names,
// a name ending in Q8ScaleSuffix, and a Data length that does not match
// Shape.
func WriteSafetensors(w io.Writer, tensors []Tensor, meta map[string]string, dtype DType) error {
	if dtype.Size() == 0 {
		return fmt.Errorf("safetensors: cannot write dtype %q; use F32, F16, BF16 or I8 (rnn.Q8)", dtype)
	}
	ts := slices.Clone(tensors)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })

	var outs []stOut
	for i, t := range ts {
		if t.Name == "" || t.Name == metadataKey {
			return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if strings.HasSuffix(t.Name, Q8ScaleSuffix) {
			return fmt.Errorf("safetensors: tensor name %q ends in %q, which is reserved for the scales of int8 tensors; rename it", t.Name, Q8ScaleSuffix)
		}
		if i > 0 && ts[i-1].Name == t.Name {
			return fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("safetensors: tensor %q has a negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q has shape %v (%d elements) but %d values", t.Name, t.Shape, n, len(t.Data))
		}
		sd := dtype
		if dtype == Q8 {
			sd = Q8DTypeOf(t)
		}
		if sd != Q8 {
			outs = append(outs, stOut{name: t.Name, dtype: sd, shape: t.Shape, data: t.Data})
			continue
		}
		q, scale, err := quantizeQ8(t)
		if err != nil {
			return err
		}
		outs = append(outs,
			stOut{name: t.Name, dtype: Q8, shape: t.Shape, q: q},
			stOut{name: t.Name + Q8ScaleSuffix, dtype: F32, shape: []int{t.Shape[0]}, data: scale})
	}
	// Wider elements first, then by name; stable, so one dtype keeps the
	// name order.
	sort.SliceStable(outs, func(i, j int) bool {
		if a, b := outs[i].dtype.Size(), outs[j].dtype.Size(); a != b {
			return a > b
		}
		return outs[i].name < outs[j].name
	})

	var h bytes.Buffer
	h.WriteByte('{')
	if len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, meta[k])
		}
		h.WriteByte('}')
	}
	var off int64
	for i, t := range outs {
		if len(meta) > 0 || i > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, t.name)
		fmt.Fprintf(&h, `:{"dtype":"%s","shape":[`, t.dtype)
		n := int64(1)
		for j, d := range t.shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
			n *= int64(d)
		}
		end := off + n*int64(t.dtype.Size())
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	h.WriteByte('}')
	// Pad so that the data area starts 8-byte aligned.
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(h.Len()))
	bw.Write(lenBuf[:])
	bw.Write(h.Bytes())
	var buf [4]byte
	for _, t := range outs {
		if t.dtype == Q8 {
			for _, v := range t.q {
				if err := bw.WriteByte(byte(v)); err != nil {
					return fmt.Errorf("safetensors: %w", err)
				}
			}
			continue
		}
		es := t.dtype.Size()
		for i, v := range t.data {
			switch t.dtype {
			case F32:
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			case F16:
				b, ok := kernel.F32ToF16(v)
				if !ok {
					return fmt.Errorf("safetensors: tensor %q element %d = %g overflows F16 (largest finite value 65504); save as F32", t.name, i, v)
				}
				binary.LittleEndian.PutUint16(buf[:], b)
			case BF16:
				b, ok := f32ToBF16(v)
				if !ok {
					return fmt.Errorf("safetensors: tensor %q element %d = %g overflows BF16; save as F32", t.name, i, v)
				}
				binary.LittleEndian.PutUint16(buf[:], b)
			}
			if _, err := bw.Write(buf[:es]); err != nil {
				return fmt.Errorf("safetensors: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// stOut is one tensor as WriteSafetensors stores it: float data in dtype
// F32, F16 or BF16, or int8 values (dtype Q8).
type stOut struct {
	name  string
	dtype DType
	shape []int
	data  []float32
	q     []int8
}

// writeJSONString writes s as a JSON string without HTML escaping, so
// embedded JSON (configs, tokenizers) stays readable in the header.
func writeJSONString(b *bytes.Buffer, s string) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	b.WriteString(strings.TrimSuffix(sb.String(), "\n"))
}

// f32ToBF16 rounds f to the nearest bfloat16, ties to even; ok is false if a
// finite f overflows to infinity.
func f32ToBF16(f float32) (h uint16, ok bool) {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 {
		if b&0x7fffff != 0 {
			return uint16(b>>16) | 0x40, true // quiet NaN
		}
		return uint16(b >> 16), true
	}
	r := (b + 0x7fff + (b>>16)&1) >> 16
	if r&0x7f80 == 0x7f80 {
		return uint16(r), false
	}
	return uint16(r), true
}
