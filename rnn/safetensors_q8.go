package rnn

// int8 model files (dtype Q8): weight matrices stored as safetensors I8 with
// symmetric per-row scales, dequantized to float32 on read. docs/FORMAT.md
// ("int8 files") describes the format for other tools.

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

const (
	// Q8MinElements is the size from which a 2-D tensor is stored as int8
	// in a Q8 file; smaller matrices, vectors and other tensors are F16.
	// Every weight matrix of the default models is far larger, and what
	// stays below (attention vectors, tiny test models) costs little.
	Q8MinElements = 1024

	// Q8ScaleSuffix ends the name of the F32 tensor holding the per-row
	// scales of the I8 tensor whose name precedes it:
	// "rnn.weight_ih_l0:scale" for "rnn.weight_ih_l0". Parameter names
	// (PyTorch state_dict keys) never contain ':', so the scale name cannot
	// collide with one; WriteSafetensors refuses tensor names that end in it.
	Q8ScaleSuffix = ":scale"

	// q8MinScale is the smallest normal float32. A row whose scale would be
	// smaller (max |w| below 127·2^-126, about 1.5e-36) is stored as zeros
	// with scale 0, so that 1/scale is always finite.
	q8MinScale = 0x1p-126
)

// Q8DTypeOf is the dtype WriteSafetensors stores t in when it writes a Q8
// file: Q8 (I8 with per-row scales) for a 2-D tensor of at least
// Q8MinElements elements, else F16, or F32 when a value of t would overflow
// F16.
func Q8DTypeOf(t Tensor) DType {
	if len(t.Shape) == 2 && len(t.Data) >= Q8MinElements {
		return Q8
	}
	for _, v := range t.Data {
		if _, ok := kernel.F32ToF16(v); !ok {
			return F32
		}
	}
	return F16
}

// quantizeQ8 quantizes the (rows, cols) matrix t symmetrically per row, as
// kernel.QuantizeWeights does: scale s = max|row|/127 (float32), and each
// value q = round(w·(1/s)) to nearest, ties to even, clamped to [-127, 127],
// products in float32. A row whose scale is below q8MinScale (a zero row
// among them) gets s = 0 and q = 0.
func quantizeQ8(t Tensor) ([]int8, []float32, error) {
	rows, cols := t.Shape[0], t.Shape[1]
	q := make([]int8, len(t.Data))
	scale := make([]float32, rows)
	for r := range rows {
		row := t.Data[r*cols : (r+1)*cols]
		var mx float32
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nil, fmt.Errorf("safetensors: tensor %q element %d = %g is not finite and cannot be stored as int8", t.Name, r*cols+j, v)
			}
			mx = max(mx, float32(math.Abs(float64(v))))
		}
		s := mx / 127
		if s < q8MinScale {
			continue
		}
		if f := float64(127 * s); math.IsInf(f, 0) {
			return nil, nil, fmt.Errorf("safetensors: tensor %q row %d reaches %g, too large for int8 storage; save as F32", t.Name, r, mx)
		}
		scale[r] = s
		inv := 1 / s
		qr := q[r*cols : (r+1)*cols]
		for j, v := range row {
			x := math.RoundToEven(float64(v * inv))
			qr[j] = int8(max(-127, min(127, x)))
		}
	}
	return q, scale, nil
}

// pairQ8Scales attaches each I8 tensor's scale tensor to it and removes the
// scale tensors from specs (sorted by name), checking that every I8 tensor
// is 2-D and has F32 scales of shape [rows], and that every name ending in
// Q8ScaleSuffix is such a scale.
func pairQ8Scales(specs []tensorSpec) ([]tensorSpec, error) {
	idx := make(map[string]int, len(specs))
	for i, s := range specs {
		idx[s.name] = i
	}
	for i := range specs {
		s := &specs[i]
		if base, ok := strings.CutSuffix(s.name, Q8ScaleSuffix); ok {
			j, found := idx[base]
			if !found {
				return nil, badf(errInvalid, "tensor %q is named as the scales of an int8 tensor %q, which the file does not have (names ending in %q are reserved for those scales)", s.name, base, Q8ScaleSuffix)
			}
			if specs[j].dtype != Q8 {
				return nil, badf(errInvalid, "tensor %q is named as the scales of an int8 tensor, but %q has dtype %s, not I8 (names ending in %q are reserved for those scales)", s.name, base, specs[j].dtype, Q8ScaleSuffix)
			}
			continue
		}
		if s.dtype != Q8 {
			continue
		}
		if len(s.shape) != 2 {
			return nil, badf(errUnsupported, "tensor %q has dtype I8 and shape %v; rnnkit reads I8 only as 2-D weight matrices with per-row scales", s.name, s.shape)
		}
		sn := s.name + Q8ScaleSuffix
		j, found := idx[sn]
		if !found {
			return nil, badf(errInvalid, "int8 tensor %q has no scale tensor %q (F32, one scale per row)", s.name, sn)
		}
		sc := specs[j]
		if sc.dtype != F32 {
			return nil, badf(errInvalid, "scale tensor %q has dtype %s; the scales of an int8 tensor are F32", sn, sc.dtype)
		}
		if len(sc.shape) != 1 || sc.shape[0] != s.shape[0] {
			return nil, badf(errInvalid, "scale tensor %q has shape %v, but int8 tensor %q of shape %v needs [%d] (one scale per row)", sn, sc.shape, s.name, s.shape, s.shape[0])
		}
		s.scale = &sc
	}
	return slices.DeleteFunc(specs, func(s tensorSpec) bool { return strings.HasSuffix(s.name, Q8ScaleSuffix) }), nil
}

// readQ8 reads the I8 tensor s and its scales and writes the dequantized
// values w = float32(q)·scale[row] (one float32 product) to dst; with keep
// (nil, or s.numel long) it also returns the int8 values in keep and the
// scales.
func readQ8(r io.ReaderAt, size, dataStart int64, s tensorSpec, dst []float32, keep []int8) ([]float32, error) {
	rows := s.shape[0]
	sb := make([]byte, 4*rows)
	if err := readFull(r, sb, dataStart+s.scale.begin, size); err != nil {
		return nil, err
	}
	scale := make([]float32, rows)
	for i := range scale {
		v := math.Float32frombits(binary.LittleEndian.Uint32(sb[4*i:]))
		if !(v >= 0) || math.IsInf(float64(127*v), 0) {
			return nil, badf(errInvalid, "scale tensor %q has %g for row %d; int8 scales are finite, not negative, and at most 2.68e36 (127·scale must be finite)", s.scale.name, v, i)
		}
		scale[i] = v
	}
	if s.numel == 0 {
		return scale, nil
	}
	cols := int64(s.shape[1])
	const chunkElems = 1 << 16
	chunk := make([]byte, min(s.numel, chunkElems))
	for done := int64(0); done < s.numel; {
		m := min(s.numel-done, chunkElems)
		b := chunk[:m]
		if err := readFull(r, b, dataStart+s.begin+done, size); err != nil {
			return nil, err
		}
		// Row by row: one scale per run of a row's elements in the chunk.
		for k := int64(0); k < m; {
			e := done + k
			row, col := e/cols, e%cols
			n := min(cols-col, m-k)
			sc, out := scale[row], dst[e:e+n]
			for i, c := range b[k : k+n] {
				q := int8(c)
				if q == -128 {
					return nil, badf(errInvalid, "int8 tensor %q has -128 at element %d; rnnkit's int8 values lie in [-127, 127]", s.name, e+int64(i))
				}
				out[i] = float32(q) * sc
			}
			if keep != nil {
				kq := keep[e : e+n]
				for i, c := range b[k : k+n] {
					kq[i] = int8(c)
				}
			}
			k += n
		}
		done += m
	}
	return scale, nil
}

// StoresQ8 reports whether the safetensors file r of the given size holds
// int8 (Q8) matrices, reading only its header; a file that is not valid
// safetensors reports false (loading it reports why).
func StoresQ8(r io.ReaderAt, size int64) bool {
	infos, _, err := ReadSafetensorsHeader(r, size)
	if err != nil {
		return false
	}
	for _, t := range infos {
		if t.DType == Q8 {
			return true
		}
	}
	return false
}
