package rnn

import (
	"bytes"
	"fmt"
	"io"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// ModelFile is a model file opened for reading: its header (metadata,
// names, dtypes and shapes) is read and validated as LoadModel validates
// it, and the weights are read on demand, either straight into a model's
// parameters (ReadParams: no float32 copy of the file in between, which at
// load is as large as the model) or as tensors (Tensors). Close it when
// done.
type ModelFile struct {
	Info ModelInfo

	name            string
	r               io.ReaderAt
	size, dataStart int64
	specs           []tensorSpec
	closer          io.Closer
}

// OpenModel opens the model file at path. wantKind, if not empty, is the
// model kind the caller needs. Errors are LoadModel's, except that damaged
// weight values (an int8 scale or value out of range) are found only when
// they are read.
func OpenModel(path, wantKind string) (*ModelFile, error) {
	f, size, err := openModelFile(path)
	if err != nil {
		return nil, err
	}
	mf, err := openModel(path, f, size, wantKind)
	if err != nil {
		f.Close()
		return nil, err
	}
	mf.closer = f
	return mf, nil
}

// OpenModelBytes is OpenModel for a file held in memory (a go:embed'd
// default); name stands for the file in errors.
func OpenModelBytes(name string, data []byte, wantKind string) (*ModelFile, error) {
	return openModel(name, bytes.NewReader(data), int64(len(data)), wantKind)
}

func openModel(name string, r io.ReaderAt, size int64, wantKind string) (*ModelFile, error) {
	specs, meta, dataStart, err := readHeader(r, size)
	if err != nil {
		return nil, explainReadError(name, err)
	}
	info, err := modelInfo(name, meta, wantKind)
	if err != nil {
		return nil, err
	}
	return &ModelFile{Info: info, name: name, r: r, size: size, dataStart: dataStart, specs: specs}, nil
}

// Shapes returns the file's tensors (sorted by name) with their names and
// shapes and no data, for checks such as Params.CheckTensors.
func (f *ModelFile) Shapes() []Tensor {
	out := make([]Tensor, len(f.specs))
	for i, s := range f.specs {
		out[i] = Tensor{Name: s.name, Shape: s.shape}
	}
	return out
}

// Tensors reads every tensor, as LoadModel returns them.
func (f *ModelFile) Tensors() ([]Tensor, error) {
	out := f.Shapes()
	var chunk []byte
	for i, s := range f.specs {
		out[i].Data = make([]float32, s.numel)
		if err := readTensor(f.r, f.size, f.dataStart, s, out[i].Data, &chunk, false); err != nil {
			return nil, explainReadError(f.name, err)
		}
	}
	return out, nil
}

// ReadParams reads the file's weights into ps, whose parameters must be
// exactly the file's tensors (OptimPrefix tensors aside) with the same
// shapes, as for SetFromTensors; each tensor is decoded straight into its
// parameter. A NaN or ±Inf weight is an error (the file is damaged), as
// every weight a model file holds is finite. On an error ps may hold part
// of the file.
func (f *ModelFile) ReadParams(ps *Params) error { return f.readParams(ps, false) }

// ReadParamsInt8 is ReadParams that also keeps each int8 matrix of the
// file in the int8 kernel's layout with its parameter, for the Quantize
// (of the Layer, Linear or Attention holding it) that is to follow: that
// Quantize then runs on exactly the stored int8 values and does not
// quantize their float32 copy again, which is most of an int8 model's
// load. Call ps.DropInt8 right after that Quantize.
func (f *ModelFile) ReadParamsInt8(ps *Params) error { return f.readParams(ps, true) }

func (f *ModelFile) readParams(ps *Params, keepInt8 bool) error {
	if _, err := ps.matchTensors(f.Shapes(), true); err != nil {
		return fmt.Errorf("model file %s: %v", f.name, err)
	}
	var chunk []byte
	var keep []int8 // the int8 values of one matrix at a time, for NewQMatrix (which copies them)
	for _, s := range f.specs {
		p := ps.byName[s.name]
		if p == nil { // an OptimPrefix tensor
			continue
		}
		if keepInt8 && s.dtype == Q8 {
			if int64(cap(keep)) < s.numel {
				keep = make([]int8, s.numel)
			}
			keep = keep[:s.numel]
			scale, err := readQ8(f.r, f.size, f.dataStart, s, p.W, keep)
			if err != nil {
				return explainReadError(f.name, err)
			}
			if s.numel > 0 {
				p.q8 = kernel.NewQMatrix(s.shape[0], s.shape[1], keep, scale)
			}
			continue
		}
		if err := readTensor(f.r, f.size, f.dataStart, s, p.W, &chunk, true); err == errNonFinite {
			return fmt.Errorf("model file %s: %v (tensor %q)", f.name, err, s.name)
		} else if err != nil {
			return explainReadError(f.name, err)
		}
	}
	return nil
}

// Close closes the file OpenModel opened; it does nothing for
// OpenModelBytes.
func (f *ModelFile) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}
