"""W1 of docs/DESIGN.md in PyTorch: char-LSTM training step.

nn.Embedding(69, 64) -> nn.LSTM(64, 256, 2) -> nn.Linear(256, 69); batch 32,
seq 64, Adam lr 2e-3, clip_grad_norm 5, stateful hidden state carried from one
window to the next and detached; random token data; fixed seeds.

    /usr/bin/python3 bench/pytorch/w1.py [--steps 30] [--warmup 3] [--threads 1]
"""

import argparse

import torch
import torch.nn as nn

import benchutil

VOCAB, EMB, HIDDEN, LAYERS, BATCH, SEQ = 69, 64, 256, 2, 32, 64


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMB)
        self.rnn = nn.LSTM(EMB, HIDDEN, LAYERS)
        self.decoder = nn.Linear(HIDDEN, VOCAB)

    def forward(self, x, state):
        h, state = self.rnn(self.embedding(x), state)
        return self.decoder(h), state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    benchutil.setup(a.threads, 1)

    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(2)
    n = a.warmup + a.steps
    # Stateful streams: window w of stream b is data[b, w*SEQ : (w+1)*SEQ+1].
    data = torch.randint(4, VOCAB, (BATCH, n * SEQ + 1), generator=g)
    state = (torch.zeros(LAYERS, BATCH, HIDDEN), torch.zeros(LAYERS, BATCH, HIDDEN))

    def step(w):
        nonlocal state
        win = data[:, w * SEQ : (w + 1) * SEQ + 1].t().contiguous()  # (SEQ+1, B) time-major
        x, y = win[:-1], win[1:]
        state = tuple(s.detach() for s in state)
        logits, state = model(x, state)
        loss = loss_fn(logits.reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad(set_to_none=False)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss

    for w in range(a.warmup):
        step(w)
    with benchutil.Timer() as t:
        for w in range(a.warmup, n):
            loss = step(w)
        loss.item()
    benchutil.emit("W1", "train", a.steps * SEQ * BATCH, "chars/s", t, a.threads, steps=a.steps)


if __name__ == "__main__":
    main()
