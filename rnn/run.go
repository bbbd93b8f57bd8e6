package rnn

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// RunState is what an exact resume of a training run needs besides the
// weights: the step counters, the best weights and validation metrics so far
// (keep-best and early stopping), the random source (dropout, shuffling),
// and any application tensors such as a recurrent state carried between
// truncated-BPTT windows. The optimizer's state is saved beside it.
//
// SaveRun and LoadRun store it in a checkpoint file (see SaveCheckpoint):
// counters and metrics in the metadata under "train.", tensors under
// "optim.run." and the optimizer's own "optim." tensors.
type RunState struct {
	Step      int // steps completed
	SinceBest int // evaluations since the best one (early stopping)
	BestStep  int
	Skipped   int                // steps skipped for a non-finite loss or gradient
	Best      []float32          // Params.Values at the best evaluation
	Metrics   map[string]float64 // best validation metrics by name ("val_loss", "val_bleu", ...)
	RNG       *rand.PCG
	Tensors   []Tensor // application tensors; names without a prefix
	// History is every evaluation of the run so far, oldest first, so that
	// a resumed run can still draw its whole loss curve.
	History []RunPoint
}

// RunPoint is one evaluation in a run's history: the step after which it
// was made and its figures by name ("loss" for the mean training loss since
// the previous point, "val_loss", "val_acc", "val_bleu", ...). A figure that
// is NaN or infinite is left out when saved (JSON cannot hold it), so a
// missing figure reads as NaN.
type RunPoint struct {
	Step   int
	Values map[string]float64
}

// Value returns the named figure, or NaN when the point has none.
func (p RunPoint) Value(name string) float64 {
	if v, ok := p.Values[name]; ok {
		return v
	}
	return math.NaN()
}

// MetaHistory is the checkpoint metadata key of RunState.History: a JSON
// array of objects, each {"step": N, NAME: VALUE, ...}.
const MetaHistory = "train.history"

func marshalHistory(h []RunPoint) (string, error) {
	objs := make([]map[string]any, len(h))
	for i, p := range h {
		o := map[string]any{"step": p.Step}
		for k, v := range p.Values {
			if k != "step" && !math.IsNaN(v) && !math.IsInf(v, 0) {
				o[k] = v
			}
		}
		objs[i] = o
	}
	b, err := json.Marshal(objs) // map keys sorted: the same history gives the same bytes
	return string(b), err
}

func unmarshalHistory(s string) ([]RunPoint, error) {
	var objs []map[string]float64
	if err := json.Unmarshal([]byte(s), &objs); err != nil {
		return nil, err
	}
	h := make([]RunPoint, len(objs))
	for i, o := range objs {
		step, ok := o["step"]
		if !ok || step < 0 || step != math.Trunc(step) || step > 1<<53 {
			return nil, fmt.Errorf("point %d has no integer step", i)
		}
		delete(o, "step")
		h[i] = RunPoint{Step: int(step), Values: o}
	}
	return h, nil
}

const runPrefix = OptimPrefix + "run."

// SaveRun writes a checkpoint of ps, the optimizer's state and st to path,
// atomically. optState is the optimizer's State (tensors named
// OptimPrefix+"..."; see package rnn/optim), the counterpart of what LoadRun
// returns for SetState.
func SaveRun(path string, info ModelInfo, ps *Params, optState []Tensor, st *RunState) error {
	meta := map[string]string{}
	for k, v := range info.Meta {
		meta[k] = v
	}
	meta["train.step"] = strconv.Itoa(st.Step)
	meta["train.since_best"] = strconv.Itoa(st.SinceBest)
	meta["train.best_step"] = strconv.Itoa(st.BestStep)
	meta["train.skipped"] = strconv.Itoa(st.Skipped)
	names := make([]string, 0, len(st.Metrics))
	for k := range st.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		meta["train.metric."+k] = strconv.FormatFloat(st.Metrics[k], 'g', -1, 64)
	}
	if st.RNG != nil {
		b, err := st.RNG.MarshalBinary()
		if err != nil {
			return err
		}
		meta["train.rng"] = hex.EncodeToString(b)
	}
	if len(st.History) > 0 {
		h, err := marshalHistory(st.History)
		if err != nil {
			return fmt.Errorf("checkpoint %s: history: %v", path, err)
		}
		meta[MetaHistory] = h
	}
	info.Meta = meta
	extra := append([]Tensor(nil), optState...)
	if st.Best != nil {
		extra = append(extra, Tensor{Name: runPrefix + "best", Shape: []int{len(st.Best)}, Data: st.Best})
	}
	for _, t := range st.Tensors {
		extra = append(extra, Tensor{Name: runPrefix + t.Name, Shape: t.Shape, Data: t.Data})
	}
	return SaveCheckpoint(path, info, ps, extra)
}

// LoadRun reads a checkpoint written by SaveRun: the model info (its Meta
// without the "train." keys), the parameter tensors, the run state (RNG
// restored into a new PCG; Best sized as written) and the optimizer's
// tensors for optim.Optimizer.SetState. The caller checks that Best and Tensors
// fit its model and options.
func LoadRun(path, kind string) (ModelInfo, []Tensor, *RunState, []Tensor, error) {
	info, params, extra, err := LoadCheckpoint(path, kind)
	if err != nil {
		return ModelInfo{}, nil, nil, nil, err
	}
	bad := func(what string) error {
		return fmt.Errorf("checkpoint %s: missing or bad %s; it is not a training checkpoint (load it as a model, or resume from the .ckpt file)", path, what)
	}
	st := &RunState{Metrics: map[string]float64{}}
	ints := []struct {
		key string
		dst *int
	}{{"train.step", &st.Step}, {"train.since_best", &st.SinceBest}, {"train.best_step", &st.BestStep}, {"train.skipped", &st.Skipped}}
	for _, f := range ints {
		v, err := strconv.Atoi(info.Meta[f.key])
		if err != nil {
			return ModelInfo{}, nil, nil, nil, bad(f.key)
		}
		*f.dst = v
	}
	meta := map[string]string{}
	for k, v := range info.Meta {
		switch {
		case strings.HasPrefix(k, "train.metric."):
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return ModelInfo{}, nil, nil, nil, bad(k)
			}
			st.Metrics[strings.TrimPrefix(k, "train.metric.")] = x
		case k == "train.rng":
			b, err := hex.DecodeString(v)
			st.RNG = rand.NewPCG(0, 0)
			if err != nil || st.RNG.UnmarshalBinary(b) != nil {
				return ModelInfo{}, nil, nil, nil, bad(k)
			}
		case k == MetaHistory:
			h, err := unmarshalHistory(v)
			if err != nil {
				return ModelInfo{}, nil, nil, nil, bad(k)
			}
			st.History = h
		case strings.HasPrefix(k, "train."):
		default:
			meta[k] = v
		}
	}
	info.Meta = meta
	var optState []Tensor
	for _, t := range extra {
		switch {
		case t.Name == runPrefix+"best":
			st.Best = t.Data
		case strings.HasPrefix(t.Name, runPrefix):
			st.Tensors = append(st.Tensors, Tensor{Name: strings.TrimPrefix(t.Name, runPrefix), Shape: t.Shape, Data: t.Data})
		default:
			optState = append(optState, t)
		}
	}
	return info, params, st, optState, nil
}

// Tensor returns the application tensor with the given name, or nil.
func (st *RunState) Tensor(name string) []float32 {
	for _, t := range st.Tensors {
		if t.Name == name {
			return t.Data
		}
	}
	return nil
}
