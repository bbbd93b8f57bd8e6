// Package rnn is rnnkit's recurrent core: cells (simple tanh/ReLU RNN, LSTM,
// GRU) with PyTorch's equations and gate order, sequence layers (stacked,
// bidirectional, ragged batches), explicit backpropagation through time,
// Linear, attention, losses, dropout, gradient clipping, int8 inference, model
// files and run checkpoints. The optimizers and learning-rate schedules are in
// package rnn/optim, the matrix and vector kernels in rnn/kernel.
//
// Conventions, stated once:
//
//   - float32 everywhere; all parameters of a model live in one Params (a flat
//     value buffer with named views, and a gradient mirror).
//   - Tensors are row-major flat slices. Sequences are time-major:
//     x: (T, B, In) means x[(t*B+b)*In+i].
//   - Destination first; buffers are caller- or layer-owned and reused, so
//     steady-state training allocates nothing per time step.
//   - Backward passes accumulate (+=) into Param.G; call Params.ZeroGrad
//     before each step.
//   - A shape mismatch is a programmer error and panics; bad data, bad files
//     and non-finite losses return errors.
//   - Parameter names and shapes are those of the PyTorch module's
//     state_dict, so model files interchange with torch.
package rnn
