"""Golden probabilities for sentiment's TestTorchParity, computed by PyTorch.

Loads each tiny rnnkit sentiment model listed in parity_input.json into the
equivalent torch module (the state_dict names of the model file are those of
this module) and classifies each review alone, without padding. Writes
parity_golden.json.

    go test ./sentiment -run TestTorchParity -update
    /usr/bin/python3 sentiment/testdata/torch_parity.py

The module below is also how to use an rnnkit sentiment model from PyTorch.
"""

import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "pytorch"))
import safetensors_io as st  # noqa: E402


class Sentiment(nn.Module):
    """rnnkit's sentiment model: embedding -> (Bi)LSTM/GRU -> poolings -> fc."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.D = 2 if cfg["bidirectional"] else 1
        self.H = cfg["hidden"]
        self.pools = cfg["pooling"].split("+")
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN}[cfg["cell"]]
        self.embedding = nn.Embedding(cfg["vocab"], cfg["embedding"], padding_idx=0)
        self.rnn = rnn(cfg["embedding"], self.H, cfg["layers"], bidirectional=cfg["bidirectional"],
                       dropout=cfg.get("dropout", 0) if cfg["layers"] > 1 else 0)
        if "attention" in self.pools:
            self.attn = nn.Linear(self.D * self.H, 1)
        self.fc = nn.Linear(len(self.pools) * self.D * self.H, len(cfg["labels"]))

    def forward(self, ids):
        """ids: (T,) token ids of one review, already truncated; returns class probabilities."""
        out, _ = self.rnn(self.embedding(ids).unsqueeze(1))
        out = out[:, 0]  # (T, D*H)
        feats = []
        for p in self.pools:
            if p == "max":
                feats.append(out.max(0).values)
            elif p == "mean":
                feats.append(out.mean(0))
            elif p == "last":
                feats.append(torch.cat([out[-1, : self.H], out[0, self.H :]]) if self.D == 2 else out[-1])
            elif p == "attention":
                a = torch.softmax(self.attn(out).squeeze(-1), 0)
                feats.append((a.unsqueeze(-1) * out).sum(0))
        return torch.softmax(self.fc(torch.cat(feats)), -1)


def load(path):
    tensors, meta = st.load(path)
    m = Sentiment(json.loads(meta["config"]))
    m.load_state_dict({k: v.float() for k, v in tensors.items()})
    return m.eval()


def main():
    with open(os.path.join(HERE, "parity_input.json")) as f:
        cases = json.load(f)
    with torch.no_grad():
        for c in cases:
            m = load(os.path.join(HERE, c["model"]))
            c["probs"] = [m(torch.tensor(ids)).tolist() for ids in c["ids"]]
    with open(os.path.join(HERE, "parity_golden.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
