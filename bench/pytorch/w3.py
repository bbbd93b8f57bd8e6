"""W3 of docs/DESIGN.md in PyTorch: review sentiment classifier.

nn.Embedding(20000, 128, padding_idx=0) -> bidirectional nn.LSTM(128, 128)
-> max-pool over time -> nn.Linear(256, 2); batch 64, reviews of 256 tokens
(every review cut at 256, so no padding), Adam lr 1e-3, cross entropy; random
token data, fixed seeds. Training reports tokens/s; inference (eval mode,
no_grad, batches of 64) reports reviews/s. The same model and batches as
sentiment/bench_test.go (BenchmarkW3Train, BenchmarkW3Infer).

    /usr/bin/python3 bench/pytorch/w3.py [--steps 10] [--warmup 2] [--threads 1]
    /usr/bin/python3 bench/pytorch/w3.py --quantize int8 [--infer-batches 10]

--quantize int8 skips training and measures inference of the model after
torch.ao.quantization.quantize_dynamic (benchutil.quantize_int8), reported
as metric "infer_int8" (BenchmarkW3InferInt8 on the Go side).
"""

import argparse

import torch
import torch.nn as nn

import benchutil

VOCAB, EMB, HIDDEN, BATCH, SEQ, CLASSES = 20000, 128, 128, 64, 256, 2


class BiLSTMMax(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMB, padding_idx=0)
        self.rnn = nn.LSTM(EMB, HIDDEN, bidirectional=True)
        self.fc = nn.Linear(2 * HIDDEN, CLASSES)

    def forward(self, x):  # x: (T, B) time-major
        out, _ = self.rnn(self.embedding(x))  # (T, B, 2H)
        return self.fc(out.max(dim=0).values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--infer-batches", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quantize", choices=["none", "int8"], default="none")
    ap.add_argument("--qengine", default=None, help="quantized engine (default: fbgemm, else onednn)")
    a = ap.parse_args()
    benchutil.setup(a.threads, 1)

    model = BiLSTMMax()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(2)
    x = torch.randint(4, VOCAB, (SEQ, BATCH), generator=g)
    y = torch.arange(BATCH) % 2

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        return loss

    model, engine, metric = benchutil.train_or_quantize(model, a, step, "W3", "infer", SEQ * BATCH, "tokens/s")

    model.eval()
    with torch.no_grad():
        for _ in range(max(a.warmup, 1)):
            model(x).softmax(-1)
        with benchutil.Timer() as t:
            for _ in range(a.infer_batches):
                p = model(x).softmax(-1)
            p.sum().item()
    benchutil.emit("W3", metric, a.infer_batches * BATCH, "reviews/s", t, a.threads, batches=a.infer_batches, qengine=engine)


if __name__ == "__main__":
    main()
