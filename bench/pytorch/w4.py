"""W4 of docs/DESIGN.md in PyTorch: encoder-decoder translator with attention.

The same module as rnnkit's seq2seq.Model with seq2seq.DefaultConfig:

    encoder.embedding = nn.Embedding(8000, 128, padding_idx=0)
    encoder.rnn       = nn.GRU(128, 256, bidirectional=True)
    bridge            = nn.Linear(512, 256)          # s0 = tanh(bridge([h_fwd; h_bwd]))
    decoder.embedding = nn.Embedding(8000, 128, padding_idx=0)
    decoder.rnn       = nn.GRU(128, 256)
    attn              = additive (Bahdanau): v . tanh(W_q h_t + W_k enc_s + b)
    out               = nn.Linear(256 + 512 + 128, 8000) over [h_t; context_t; e_t]

Decoder step t: e_t = emb(y_{t-1}); h_t = GRU(e_t, h_{t-1}); context_t =
attention(h_t, encoder outputs); logits = out([h_t; context_t; e_t]). Without
input feeding the decoder GRU runs over the whole target at once in training
(teacher forcing), exactly as rnnkit does.

Batch 64, 20 source tokens, 20 target steps (19 tokens + EOS), Adam 1e-3,
clip 5, random token data with fixed seeds. Training reports pairs/s; greedy
decoding (eval, no_grad, one step at a time for 20 steps, batch 64) reports
sentences/s. The Go side is seq2seq/bench_test.go (BenchmarkW4Train,
BenchmarkW4Greedy, BenchmarkW4Beam5).

    /usr/bin/python3 bench/pytorch/w4.py [--steps 5] [--warmup 1] [--threads 1]
    /usr/bin/python3 bench/pytorch/w4.py --quantize int8 [--infer-batches 5]

--quantize int8 skips training and measures greedy decoding of the model
after torch.ao.quantization.quantize_dynamic (benchutil.quantize_int8),
reported as metric "greedy_int8" (BenchmarkW4GreedyInt8 on the Go side).
"""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

import benchutil

V, E, HE, HD, B, T = 8000, 128, 256, 256, 64, 20


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_emb = nn.Embedding(V, E, padding_idx=0)
        self.enc = nn.GRU(E, HE, bidirectional=True)
        self.bridge = nn.Linear(2 * HE, HD)
        self.dec_emb = nn.Embedding(V, E, padding_idx=0)
        self.dec = nn.GRU(E, HD)
        self.attn_q = nn.Linear(HD, HD, bias=False)
        self.attn_k = nn.Linear(2 * HE, HD)
        self.attn_v = nn.Linear(HD, 1, bias=False)
        self.out = nn.Linear(HD + 2 * HE + E, V)

    def encode(self, src):  # src: (S, B)
        enc, hn = self.enc(self.enc_emb(src))  # (S, B, 2He), (2, B, He)
        s0 = torch.tanh(self.bridge(torch.cat([hn[0], hn[1]], -1))).unsqueeze(0)
        return enc, self.attn_k(enc), s0

    def attend(self, h, enc, keys):  # h: (T, B, Hd), keys: (S, B, Hd)
        q = self.attn_q(h)  # (T, B, Hd)
        scores = self.attn_v(torch.tanh(q.unsqueeze(1) + keys.unsqueeze(0))).squeeze(-1)  # (T, S, B)
        w = scores.softmax(1)
        ctx = torch.einsum("tsb,sbk->tbk", w, enc)
        return ctx, w

    def forward(self, src, tgt_in):  # teacher forcing
        enc, keys, s0 = self.encode(src)
        e = self.dec_emb(tgt_in)  # (T, B, E)
        h, _ = self.dec(e, s0)
        ctx, _ = self.attend(h, enc, keys)
        return self.out(torch.cat([h, ctx, e], -1))  # (T, B, V)

    def greedy(self, src, steps):
        enc, keys, s = self.encode(src)
        y = torch.full((1, src.shape[1]), 2, dtype=torch.long)  # <s>
        out = []
        for _ in range(steps):
            e = self.dec_emb(y)
            h, s = self.dec(e, s)
            ctx, _ = self.attend(h, enc, keys)
            logits = self.out(torch.cat([h, ctx, e], -1))
            y = logits.argmax(-1)
            out.append(y)
        return torch.cat(out, 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--infer-batches", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quantize", choices=["none", "int8"], default="none")
    ap.add_argument("--qengine", default=None, help="quantized engine (default: fbgemm, else onednn)")
    a = ap.parse_args()
    benchutil.setup(a.threads, 1)

    model = Seq2Seq()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(2)
    src = torch.randint(4, V, (T, B), generator=g)
    tgt = torch.randint(4, V, (T - 1, B), generator=g)
    tgt_in = torch.cat([torch.full((1, B), 2, dtype=torch.long), tgt], 0)
    tgt_out = torch.cat([tgt, torch.full((1, B), 3, dtype=torch.long)], 0)

    def step():
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt_out.reshape(-1))
        opt.zero_grad(set_to_none=False)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss

    model, engine, metric = benchutil.train_or_quantize(model, a, step, "W4", "greedy", B, "pairs/s")

    model.eval()
    with torch.no_grad():
        for _ in range(max(a.warmup, 1)):
            model.greedy(src, T)
        with benchutil.Timer() as t:
            for _ in range(a.infer_batches):
                y = model.greedy(src, T)
            y.sum().item()
    benchutil.emit("W4", metric, a.infer_batches * B, "sentences/s", t, a.threads, batches=a.infer_batches, qengine=engine)


if __name__ == "__main__":
    main()
