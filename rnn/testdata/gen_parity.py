#!/usr/bin/python3
"""Generate the PyTorch parity golden files for rnn/parity_test.go.

For each cell (LSTM, GRU, RNN tanh, RNN relu), uni- and bidirectional, two
layers, it builds the torch module with fixed random weights, runs a ragged
batch (packed sequences) with given initial states, and writes to
rnn/testdata/parity/<name>.safetensors:

  rnn.<state_dict names>         the weights
  x (T,B,In), lengths (B), h0, c0 (L*D,B,H), ry, rh, rc   inputs and probes
  y (T,B,D*H), h_n, c_n          outputs (y zero at padding)
  grad.<name>                    d/d<name> of L = sum(y*ry) + sum(h_n*rh) + sum(c_n*rc)

Run with Debian's torch:  /usr/bin/python3 rnn/testdata/gen_parity.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "pytorch"))
import safetensors_io  # noqa: E402

T, B, IN, H, LAYERS = 7, 3, 5, 6, 2
LENGTHS = [7, 4, 2]


def case(cell, bidir):
    torch.manual_seed(1234 + 10 * ["lstm", "gru", "rnn_tanh", "rnn_relu"].index(cell) + int(bidir))
    if cell == "lstm":
        m = torch.nn.LSTM(IN, H, LAYERS, bidirectional=bidir)
    elif cell == "gru":
        m = torch.nn.GRU(IN, H, LAYERS, bidirectional=bidir)
    else:
        m = torch.nn.RNN(IN, H, LAYERS, nonlinearity=cell[4:], bidirectional=bidir)
    m = m.float()
    D = 2 if bidir else 1
    x = torch.randn(T, B, IN, requires_grad=True)
    h0 = torch.randn(LAYERS * D, B, H, requires_grad=True)
    c0 = torch.randn(LAYERS * D, B, H, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False)
    if cell == "lstm":
        out, (hn, cn) = m(packed, (h0, c0))
    else:
        out, hn = m(packed, h0)
        cn = None
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    ry = torch.randn_like(y)
    rh = torch.randn_like(hn)
    loss = (y * ry).sum() + (hn * rh).sum()
    rc = torch.randn_like(hn)
    if cn is not None:
        loss = loss + (cn * rc).sum()
    loss.backward()

    t = {}
    for name, p in m.state_dict().items():
        t["rnn." + name] = p.detach().clone()
    for name, p in m.named_parameters():
        t["grad.rnn." + name] = p.grad.detach().clone()
    t["x"] = x.detach()
    t["lengths"] = torch.tensor(LENGTHS, dtype=torch.float32)
    t["h0"] = h0.detach()
    t["ry"], t["rh"] = ry, rh
    t["y"], t["h_n"] = y.detach(), hn.detach()
    t["grad.x"], t["grad.h0"] = x.grad, h0.grad
    if cn is not None:
        t["c0"], t["rc"], t["c_n"], t["grad.c0"] = c0.detach(), rc, cn.detach(), c0.grad
    cfg = {"cell": cell, "input_size": IN, "hidden_size": H, "num_layers": LAYERS, "bidirectional": bidir}
    name = cell + ("_bi" if bidir else "")
    path = os.path.join(HERE, "parity", name + ".safetensors")
    safetensors_io.save(path, t, {"config": json.dumps(cfg), "torch_version": torch.__version__})
    print("wrote", path)


if __name__ == "__main__":
    os.makedirs(os.path.join(HERE, "parity"), exist_ok=True)
    for cell in ["lstm", "gru", "rnn_tanh", "rnn_relu"]:
        for bidir in [False, True]:
            case(cell, bidir)
