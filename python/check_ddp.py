#!/usr/bin/env python3
"""End-to-end check of python/train_ddp.py: data-parallel training through
PyTorch DDP gives rnnkit model files that rnnkit runs as torch does.

For each kind (charrnn, sentiment, seq2seq), on data written here:

  1. train_ddp.py trains the same model twice, in one process (python3) and
     in two (torchrun --nproc_per_node 2, gloo on CPU), with the same global
     batch: the two loss curves and the two final models must agree to float
     rounding;
  2. the rnnkit CLI runs the model the two processes wrote and its output
     must equal torch's own on the same file: `rnnkit generate --temperature
     0` (greedy, and a sampled --rng-seed), `rnnkit classify --json --probs`,
     `rnnkit translate --beam 1 --json` (the comparisons of check_parity.py).

    /usr/bin/python3 python/check_ddp.py                  # builds rnnkit with go
    /usr/bin/python3 python/check_ddp.py --rnnkit /tmp/rnnkit --steps 30 -v

Without torch it prints "check_ddp: skipped ..." and exits 0. The last line
is "check_ddp: N passed, M failed"; the exit status is 1 when a check failed.
Also reports the median step time of the one- and two-process runs (not
checked: see docs/SCALE.md for measurements).
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import torch
    import torch.distributed  # noqa: F401
except ImportError as e:
    print(f"check_ddp: skipped ({sys.executable} cannot import torch: {e})")
    sys.exit(0)

sys.path.insert(0, HERE)
import check_parity as cp  # noqa: E402
import rnnkit_torch as rk  # noqa: E402

TOL_LOSS = 1e-4  # relative, per step: the same sums in another order
TOL_WEIGHT = 1e-4


def write_data(tmp):
    r = random.Random(7)
    text = cp.corpus(600, 3)
    paths = {"charrnn": os.path.join(tmp, "text.txt")}
    with open(paths["charrnn"], "w", encoding="utf-8") as f:
        f.write(text)
    good = ["wonderful", "moving", "brilliant", "superb", "lovely", "great"]
    bad = ["boring", "dull", "awful", "wooden", "terrible", "endless"]
    things = ["film", "plot", "cast", "ending", "score", "story"]
    paths["sentiment"] = os.path.join(tmp, "reviews.tsv")
    with open(paths["sentiment"], "w", encoding="utf-8") as f:
        for _ in range(400):
            pos = r.random() < 0.5
            words = [r.choice(good if pos else bad) if r.random() < 0.4 else r.choice(things) for _ in range(r.randint(3, 25))]
            f.write("The " + " ".join(words) + (" I loved it." if pos else " Avoid it.") + "\t" +
                    ("positive" if pos else "negative") + "\n")
    es = {"Anna": "Ana", "Bruno": "Bruno", "Carla": "Carla", "Diego": "Diego", "Elena": "Elena", "Félix": "Félix"}
    vb = {"likes": "quiere", "reads": "lee", "sees": "ve", "wants": "desea", "finds": "encuentra", "paints": "pinta"}
    ob = {"the book": "el libro", "a red apple": "una manzana roja", "the old house": "la casa vieja",
          "my small dog": "mi perro pequeño", "the garden": "el jardín", "a quiet river": "un río tranquilo"}
    paths["seq2seq"] = os.path.join(tmp, "pairs.tsv")
    with open(paths["seq2seq"], "w", encoding="utf-8") as f:
        for _ in range(400):
            n, v, o = r.choice(list(es)), r.choice(list(vb)), r.choice(list(ob))
            f.write(f"{n} {v} {o}.\t{es[n]} {vb[v]} {ob[o]}.\n")
    return paths


CONFIGS = {
    "charrnn": {"cell": "lstm", "embedding": 16, "hidden": 48, "layers": 2},
    "sentiment": {"cell": "gru", "embedding": 16, "hidden": 16, "bidirectional": True, "pooling": "max+mean"},
    "seq2seq": {"cell": "gru", "embedding": 16, "enc_hidden": 24, "dec_hidden": 32, "input_feeding": True},
}


def train(kind, data, out, log, steps, nproc, tmp):
    args = [os.path.join(HERE, "train_ddp.py"), kind, "--data", data, "--out", out, "--log", log,
            "--steps", str(steps), "--batch", "16", "--seq-len", "32", "--lr", "3e-3", "--seed", "5",
            "--config", json.dumps(CONFIGS[kind]), "--log-every", "0"]
    if nproc == 1:
        cmd = [sys.executable] + args
    else:
        # --redirects 1 --tee 2: torch 1.13's torchrun cannot parse "0" under Python 3.11
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--redirects", "1", "--tee", "2", "--log_dir", os.path.join(tmp, "torchrun-" + kind)] + args
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr[-3000:]}")
    with open(log) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rnnkit", help="rnnkit binary (default: $RNNKIT, else built with go build)")
    ap.add_argument("--steps", type=int, default=40, help="training steps per run")
    ap.add_argument("--only", help="comma-separated kinds: charrnn, sentiment, seq2seq")
    ap.add_argument("--keep", help="keep the files in this directory")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    torch.set_num_threads(1)
    tmp = a.keep or tempfile.mkdtemp(prefix="rnnkit-ddp-")
    os.makedirs(tmp, exist_ok=True)
    kinds = a.only.split(",") if a.only else ["charrnn", "sentiment", "seq2seq"]
    try:
        c = cp.Checker(cp.find_rnnkit(a.rnnkit, tmp), tmp, a.verbose)
        data = write_data(tmp)
        for kind in kinds:
            runs = {}
            for n in (1, 2):
                out = os.path.join(tmp, f"{kind}-{n}p.safetensors")
                runs[n] = (out, train(kind, data[kind], out, os.path.join(tmp, f"{kind}-{n}p.jsonl"), a.steps, n, tmp))
            l1, l2 = [r["loss"] for r in runs[1][1]], [r["loss"] for r in runs[2][1]]
            d = max(abs(x - y) / max(1e-9, abs(x)) for x, y in zip(l1, l2))
            c.diff(f"{kind} loss, 2 processes vs 1 (relative)", d)
            c.check(f"{kind}: DDP loss curve (2 processes) = one process, {a.steps} steps, global batch 16",
                    len(l1) == len(l2) == a.steps and d <= TOL_LOSS and l1[-1] < l1[0],
                    f"max relative |dloss| {d:.1e}; loss {l1[0]:.4f} -> {l1[-1]:.4f}")
            t1 = statistics.median(r["step_time_s"] for r in runs[1][1][3:])
            t2 = statistics.median(r["step_time_s"] for r in runs[2][1][3:])
            c.note(f"{kind}: median step time {t1 * 1e3:.0f} ms (1 process), {t2 * 1e3:.0f} ms (2 processes), ratio {t2 / t1:.2f}")
            w1, w2 = rk.read_model(runs[1][0])[0], rk.read_model(runs[2][0])[0]
            dw = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
            c.diff(f"{kind} weights, 2 processes vs 1", dw)
            c.check(f"{kind}: the two models' weights agree", set(w1) == set(w2) and dw <= TOL_WEIGHT, f"max |dw| {dw:.1e}")
            path = runs[2][0]
            m = rk.load(path)
            label = f"DDP-trained {kind}"
            if kind == "charrnn":
                cp.compare_generation(c, label, m, path, [{"seed": "Anna", "n": 200}, {"seed": "", "n": 100, "prime": ""},
                                                          {"seed": "Bruno", "n": 150, "temperature": 0.8, "rng_seed": 3}])
            elif kind == "sentiment":
                cp.compare_sentiment(c, label, m, path, cp.REVIEWS + [
                    "The wonderful cast, brilliant plot. I loved it.", "The boring dull ending. Avoid it."])
            else:
                cp.compare_translate(c, label, m, path, ["Anna reads the book.", "Diego paints a quiet river.",
                                                         "Félix finds my small dog!", "Carla wants the garden."])
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for k, v in sorted(c.maxdiff.items()):
        print(f"  {k:48s} {v:.2e}")
    if c.failed:
        print("failed: " + "; ".join(c.failed))
    print(f"check_ddp: {c.passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
