// Package optim holds rnnkit's optimizers and learning-rate schedules, each
// with the update rule and defaults of the torch.optim class of the same
// name: SGD (momentum, Nesterov), Adam and AdamW (NewAdam, NewAdamW),
// RMSprop and Adagrad behind the Optimizer interface, and the schedules
// Constant, StepDecay, CosineWarmup (behind Schedule) and ReduceOnPlateau.
//
// An optimizer works on the flat buffers of one rnn.Params in one loop (Adam
// in AVX on amd64, with a Go twin that gives the same bits). Its State is a
// set of rnn.Tensor named "optim.<torch state key>" (rnn.OptimPrefix), which
// rnn.SaveRun writes into a checkpoint and rnn.LoadRun gives back for
// SetState, so a resumed run continues bit for bit.
//
// The package imports rnn (for Params and Tensor); rnn does not import it.
package optim
