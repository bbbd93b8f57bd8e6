"""W2 of docs/DESIGN.md in PyTorch: batch-1 sampling from the W1 model.

Each character: embedding -> one LSTM step (2x256, state carried) -> Linear ->
softmax(logits / 0.8) with the 4 special tokens masked -> torch.multinomial.
Under torch.no_grad; fixed seeds.

    /usr/bin/python3 bench/pytorch/w2.py [--chars 1000] [--warmup 50] [--threads 1]
"""

import argparse

import torch
import torch.nn.functional as F

import benchutil
from w1 import CharLSTM, HIDDEN, LAYERS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chars", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    benchutil.setup(a.threads, 1)

    model = CharLSTM().eval()
    g = torch.Generator().manual_seed(3)
    temperature = 0.8
    state = (torch.zeros(LAYERS, 1, HIDDEN), torch.zeros(LAYERS, 1, HIDDEN))
    x = torch.tensor([[5]])  # (T=1, B=1)

    def sample(n):
        nonlocal state, x
        for _ in range(n):
            logits, state = model(x, state)
            logits = logits[0, 0] / temperature
            logits[:4] = float("-inf")  # <pad>, <unk>, <s>, </s> are never emitted
            p = F.softmax(logits, dim=-1)
            x = torch.multinomial(p, 1, generator=g).view(1, 1)

    with torch.no_grad():
        sample(a.warmup)
        with benchutil.Timer() as t:
            sample(a.chars)
    benchutil.emit("W2", "sample", a.chars, "chars/s", t, a.threads, chars=a.chars)


if __name__ == "__main__":
    main()
