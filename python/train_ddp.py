#!/usr/bin/env python3
"""Data-parallel training of rnnkit models with PyTorch DistributedDataParallel.

Trains any of the three kinds (charrnn, sentiment, seq2seq) on the modules of
python/rnnkit_torch.py, from an rnnkit model file (--init) or from scratch,
and writes an rnnkit model file that `rnnkit generate / classify / translate`
use as it is.

    # two processes on one machine (gloo on CPU; nccl when CUDA is there)
    torchrun --nproc_per_node 2 python/train_ddp.py charrnn --data input.txt --out my.safetensors
    torchrun --nproc_per_node 2 python/train_ddp.py sentiment --data labelled.tsv \\
        --init cmd/rnnkit/models/sentiment.safetensors --out tuned.safetensors --lr 3e-4
    torchrun --nproc_per_node 2 python/train_ddp.py seq2seq --data spa.txt --out en-es.safetensors
    # several machines: the same command on each, with a rendezvous
    torchrun --nnodes 4 --nproc_per_node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \\
        python/train_ddp.py seq2seq --data spa.txt --out en-es.safetensors
    # one process, without torchrun: the same run (the reference for the loss curve)
    python3 python/train_ddp.py charrnn --data input.txt --out my.safetensors

Data: charrnn a UTF-8 text file; sentiment a TSV file "text<TAB>label" (the
label is the last column: a label name or a class index); seq2seq a TSV file
"source<TAB>target[<TAB>...]" (Tatoeba's spa.txt as it is). From scratch the
tokenizers are built from the data (rune for charrnn, words for the others;
--max-vocab caps them) and --config (JSON, the keys of docs/FORMAT.md)
overrides the small default architecture; with --init the file's config and
tokenizers are kept.

The run is the same whatever the number of processes: every process draws the
same global batch of --batch units from --seed and the step (charrnn: windows
of --seq-len+1 characters at random offsets, stateless; sentiment: reviews;
seq2seq: pairs, in a shuffled order per epoch) and trains on its own
contiguous slice of it, and each process's loss is its sum over units
(characters, reviews, target tokens) divided by the global count, times the
number of processes, so that DDP's averaged gradient is the gradient of the
global batch's mean loss: the loss curve of N processes is the curve of one
process with the same --batch, up to float rounding (exactly so with
--dropout-free configs; dropout masks differ by process). --batch must be a
multiple of the number of processes.

Rank 0 writes --out (and every --save-every steps), and --log: one JSON object
per step {"step", "loss", "lr", "step_time_s", "world_size", "batch"}, where
loss is the global batch's mean loss before the update.
"""

import argparse
import copy
import json
import math
import os
import random
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnnkit_torch as rk  # noqa: E402

# The architectures from scratch (small; --config overrides any key).
DEFAULT_CONFIGS = {
    "charrnn": {"cell": "lstm", "embedding": 64, "hidden": 256, "layers": 2, "dropout": 0.0, "emb_dropout": 0.0},
    "sentiment": {"cell": "gru", "embedding": 64, "hidden": 64, "layers": 1, "bidirectional": True,
                  "pooling": "max+mean", "dropout": 0.0, "emb_dropout": 0.0, "max_len": 400, "truncate": "head+tail"},
    "seq2seq": {"cell": "gru", "embedding": 64, "enc_hidden": 128, "enc_layers": 1, "dec_hidden": 128,
                "dec_layers": 1, "attention": "additive", "attn_hidden": 0, "input_feeding": False,
                "tie_embeddings": False, "dropout": 0.0},
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("kind", choices=["charrnn", "sentiment", "seq2seq"])
    ap.add_argument("--data", required=True, help="training data (see above)")
    ap.add_argument("--out", required=True, help="the rnnkit model file to write")
    ap.add_argument("--init", help="start from this rnnkit model file (its config and tokenizers)")
    ap.add_argument("--config", help="from scratch: JSON object overriding the default architecture")
    ap.add_argument("--max-vocab", type=int, default=20000, help="from scratch: the word tokenizers' size cap")
    ap.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    ap.add_argument("--batch", type=int, default=32, help="global batch: windows, reviews or pairs per step, over all processes")
    ap.add_argument("--seq-len", type=int, default=64, help="charrnn: characters per window")
    ap.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    ap.add_argument("--warmup", type=int, default=0, help="steps of linear learning-rate warmup")
    ap.add_argument("--clip", type=float, default=5.0, help="clip the global gradient norm to this (0 = off)")
    ap.add_argument("--seed", type=int, default=1, help="initialisation and batches")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"], help="element type of --out")
    ap.add_argument("--log", help="rank 0: write the loss per step here (JSONL)")
    ap.add_argument("--log-every", type=int, default=50, help="rank 0: a progress line on stderr every N steps (0 = none)")
    ap.add_argument("--save-every", type=int, default=0, help="rank 0: also write --out every N steps")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--backend", default="", help="torch.distributed backend (default: nccl with CUDA, else gloo)")
    return ap.parse_args(argv)


# ---------------------------------------------------------------------------
# data

def read_tsv(path, min_cols):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) < min_cols:
                raise SystemExit(f"{path}:{n}: {len(cols)} column(s), want at least {min_cols} (tab-separated)")
            rows.append(cols)
    if not rows:
        raise SystemExit(f"{path}: no records")
    return rows


class CharData:
    """Windows of seq_len+1 token ids at random offsets of the text."""

    def __init__(self, path, model, seq_len):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.ids = torch.tensor(model.tokenizer.encode(text), dtype=torch.long)
        self.T = seq_len
        if len(self.ids) < seq_len + 2:
            raise SystemExit(f"{path}: {len(self.ids)} tokens, fewer than --seq-len + 2")

    def batch(self, rng, n):
        starts = [rng.randrange(len(self.ids) - self.T - 1) for _ in range(n)]
        return [self.ids[s:s + self.T + 1] for s in starts]

    @staticmethod
    def count(units):
        return sum(len(u) - 1 for u in units)

    @staticmethod
    def loss_sum(model, units):
        w = torch.stack(units, 1)  # (T+1, b)
        logits, _ = model(w[:-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[1:].reshape(-1), reduction="sum")


class EpochOrder:
    """Indices 0..n-1 in a shuffled order per epoch, from the seed alone."""

    def __init__(self, n, seed):
        self.n, self.seed = n, seed
        self.epoch, self.perm = -1, None

    def take(self, step, b):
        out = []
        for k in range(step * b, step * b + b):
            epoch, i = divmod(k, self.n)
            if epoch != self.epoch:
                self.perm = list(range(self.n))
                random.Random(self.seed * 1_000_003 + epoch).shuffle(self.perm)
                self.epoch = epoch
            out.append(self.perm[i])
        return out


class SentimentData:
    def __init__(self, path, model):
        rows = read_tsv(path, 2)
        labels = model.labels
        self.items = []
        for cols in rows:
            lab = cols[-1].strip()
            if lab in labels:
                c = labels.index(lab)
            elif lab.isdigit() and int(lab) < len(labels):
                c = int(lab)
            else:
                raise SystemExit(f"{path}: label {lab!r} is none of {labels}")
            self.items.append((model.encode("\t".join(cols[:-1])), c))
        self.order = None

    def batch(self, step, n, seed):
        if self.order is None:
            self.order = EpochOrder(len(self.items), seed)
        return [self.items[i] for i in self.order.take(step, n)]

    @staticmethod
    def count(units):
        return len(units)

    @staticmethod
    def loss_sum(model, units):
        logits = model([u[0] for u in units])
        return F.cross_entropy(logits, torch.tensor([u[1] for u in units]), reduction="sum")


class PairData:
    def __init__(self, path, model):
        self.items = []
        for cols in read_tsv(path, 2):
            s, t = model.src.encode(cols[0]), model.tgt.encode(cols[1])
            if s and len(s) <= 400 and len(t) <= 400:
                self.items.append((s, t))
        if not self.items:
            raise SystemExit(f"{path}: no usable pairs")
        self.order = None

    def batch(self, step, n, seed):
        if self.order is None:
            self.order = EpochOrder(len(self.items), seed)
        return [self.items[i] for i in self.order.take(step, n)]

    @staticmethod
    def count(units):
        return sum(len(t) + 1 for _, t in units)  # the target tokens and </s>

    @staticmethod
    def loss_sum(model, units):
        srcs, tgts = [u[0] for u in units], [u[1] for u in units]
        logits = model(srcs, tgts)  # (T, B, V)
        T, B = logits.shape[0], logits.shape[1]
        y = torch.full((T, B), rk.PAD, dtype=torch.long)
        for b, t in enumerate(tgts):
            if t:
                y[:len(t), b] = torch.tensor(t)
            y[len(t), b] = rk.EOS
        return F.cross_entropy(logits.reshape(T * B, -1), y.reshape(-1), ignore_index=rk.PAD, reduction="sum")


# ---------------------------------------------------------------------------
# models

def build_model(a):
    if a.init:
        m = rk.load(a.init)
        if m.kind != a.kind:
            raise SystemExit(f"{a.init} is a {m.kind} model, not {a.kind}")
        return m
    cfg = dict(DEFAULT_CONFIGS[a.kind])
    if a.config:
        cfg.update(json.loads(a.config))
    if a.kind == "charrnn":
        with open(a.data, encoding="utf-8") as f:
            tok = rk.RuneTokenizer.from_text(f.read())
        return rk.CharRNN(cfg, tok)
    if a.kind == "sentiment":
        rows = read_tsv(a.data, 2)
        if not cfg.get("labels"):
            labs = sorted({r[-1].strip() for r in rows})
            if all(l.isdigit() for l in labs):
                labs = [str(i) for i in range(max(int(l) for l in labs) + 1)]
            cfg["labels"] = labs
        tok = rk.WordTokenizer.train([rk.clean_review("\t".join(r[:-1])) for r in rows], lowercase=True,
                                     split_punct=True, max_vocab=a.max_vocab)
        return rk.Sentiment(cfg, tok)
    rows = read_tsv(a.data, 2)
    src = rk.WordTokenizer.train([r[0] for r in rows], split_punct=True, max_vocab=a.max_vocab)
    tgt = rk.WordTokenizer.train([r[1] for r in rows], split_punct=True, max_vocab=a.max_vocab)
    return rk.Seq2Seq(cfg, src, tgt)


def make_data(a, m):
    if a.kind == "charrnn":
        return CharData(a.data, m, a.seq_len)
    if a.kind == "sentiment":
        return SentimentData(a.data, m)
    return PairData(a.data, m)


def global_batch(a, data, step):
    if a.kind == "charrnn":
        return data.batch(random.Random(a.seed * 1_000_003 + step), a.batch)
    return data.batch(step, a.batch, a.seed)


# ---------------------------------------------------------------------------

def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    rank, world = 0, 1
    device = torch.device("cpu")
    if distributed:
        backend = a.backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        if backend == "nccl":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
    if a.batch % world:
        raise SystemExit(f"--batch {a.batch} is not a multiple of the {world} processes")
    torch.manual_seed(a.seed)
    m = build_model(a).to(device)
    data = make_data(a, m)
    m.train()
    net = DDP(m) if distributed else m  # DDP broadcasts rank 0's weights: every process starts equal
    opt = torch.optim.Adam(m.parameters(), lr=a.lr)
    log = open(a.log, "w") if a.log and rank == 0 else None
    local = a.batch // world
    t_start = time.perf_counter()
    if rank == 0:
        n = sum(p.numel() for p in m.parameters())
        print(f"train_ddp: {a.kind}, {n} parameters, {world} process(es), global batch {a.batch} "
              f"({local} per process), {a.steps} steps", file=sys.stderr)
    for step in range(a.steps):
        t0 = time.perf_counter()
        lr = a.lr * min(1.0, (step + 1) / a.warmup) if a.warmup > 0 else a.lr
        for g in opt.param_groups:
            g["lr"] = lr
        units = global_batch(a, data, step)
        n_global = data.count(units)
        mine = units[rank * local:(rank + 1) * local]
        opt.zero_grad(set_to_none=True)
        s = data.loss_sum(net, mine)
        (s * (world / n_global)).backward()  # DDP averages: the mean over the global batch
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(m.parameters(), a.clip)
        opt.step()
        total = s.detach().clone()
        if distributed:
            dist.all_reduce(total)
        loss = float(total) / n_global
        dt = time.perf_counter() - t0
        if not math.isfinite(loss):
            raise SystemExit(f"step {step + 1}: the loss is {loss}; lower --lr")
        if rank == 0:
            if log:
                log.write(json.dumps({"step": step + 1, "loss": loss, "lr": lr, "step_time_s": round(dt, 6),
                                      "world_size": world, "batch": a.batch}) + "\n")
            if a.log_every and (step + 1) % a.log_every == 0:
                print(f"step {step + 1}/{a.steps}  loss {loss:.4f}  {dt * 1e3:.0f} ms/step", file=sys.stderr)
            if a.save_every and (step + 1) % a.save_every == 0:
                save(a, m, world, device)
    if rank == 0:
        save(a, m, world, device)
        print(f"train_ddp: wrote {a.out} ({time.perf_counter() - t_start:.1f}s)", file=sys.stderr)
        if log:
            log.close()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


def save(a, m, world, device):
    was = m.training
    m.eval()
    m.meta = dict(m.meta)
    m.meta["trained_on"] = os.path.basename(a.data)
    m.meta["train_command"] = ("torchrun --nproc_per_node %d " % world if world > 1 else "") + \
        "python/train_ddp.py " + " ".join(sys.argv[1:])
    (m if device.type == "cpu" else copy.deepcopy(m).cpu()).save(a.out, a.dtype)
    m.train(was)


if __name__ == "__main__":
    main()
