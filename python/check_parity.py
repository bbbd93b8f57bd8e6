#!/usr/bin/env python3
"""Parity check: rnnkit (the Go binary) against python/rnnkit_torch.py.

For each model kind, on files written by each side:

  rnnkit -> torch   the embedded default models (and a tiny model that
                    rnnkit trains here) are loaded into the torch modules,
                    whose output is compared with the rnnkit CLI's;
  torch  -> rnnkit  torch saves models (the defaults with perturbed weights,
                    and random models of other configs and tokenizers) and
                    the rnnkit CLI runs them.

Compared: the greedy text of `rnnkit generate --temperature 0` (and sampled
text for an --rng-seed, --prime and --stop handling), the probabilities of
`rnnkit classify --json --probs` (printed to 4 decimals) and the loss of
`rnnkit eval sentiment --json` (6 decimals), also of classifiers with the
n-gram branch (written by torch, and trained by `rnnkit train sentiment
--ngram` when the binary has that flag; n-gram configs that both must
refuse), the translations, tokens, log-probabilities and attention of
`rnnkit translate --beam 1 --json` (and --beam 5), the token ids and offsets
of `rnnkit tokenizer encode --json`, the bytes of model files and
checkpoints rewritten by Python, and the checkpoint layout (optim.* buffers
in parameter order). int8 files written by torch (dtype "I8") are run by
rnnkit too; `go test -run Q8PythonParity ./rnn/` checks int8 files byte for
byte in both directions.

    /usr/bin/python3 python/check_parity.py                 # builds rnnkit with go
    /usr/bin/python3 python/check_parity.py --rnnkit /tmp/rnnkit
    RNNKIT=/tmp/rnnkit /usr/bin/python3 python/check_parity.py -v

Needs torch; the last line is "parity: N passed, M failed" and the exit
status is 1 when a check failed.
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import torch

sys.dont_write_bytecode = True  # leave no __pycache__ in the checkout
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import rnnkit_torch as rk  # noqa: E402

MODELS = os.path.join(ROOT, "cmd", "rnnkit", "models")


def model_files():
    """The default model files shipped in cmd/rnnkit/models: (path, kind, dtype)."""
    out = []
    for f in sorted(os.listdir(MODELS)):
        if f.endswith(".safetensors"):
            p = os.path.join(MODELS, f)
            with open(p, "rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                h = json.loads(fh.read(n))
            dts = {e["dtype"] for k, e in h.items() if k != "__metadata__"}
            out.append((p, h["__metadata__"]["kind"], dts.pop() if len(dts) == 1 else None))
    return out

# Tolerances. Probabilities from classify are rounded to 4 decimals.
TOL_LOGPROB = 1e-4     # charrnn mean_log_prob, nats/char
TOL_PROB4 = 5e-5 + 2e-6
TOL_LOSS = 1e-5
TOL_S2S_LOGPROB = 1e-3  # sum over the tokens of a translation
TOL_ATTN = 1e-4
TIE = 1e-4             # a greedy choice whose top-2 logit margin is below this may differ by rounding


class Checker:
    def __init__(self, rnnkit, tmp, verbose):
        self.bin, self.tmp, self.verbose = rnnkit, tmp, verbose
        self.passed, self.failed, self.notes = 0, [], []
        self.maxdiff = {}

    def run(self, *args, stdin=None):
        p = subprocess.run([self.bin, "-q", "--threads", "1", *args], input=stdin, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"rnnkit {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
        return p.stdout

    def has_flag(self, cmd, flag):
        return flag in self.run(cmd, "--help")

    def jsonl(self, *args, stdin=None):
        return [json.loads(l) for l in self.run(*args, stdin=stdin).splitlines() if l.strip()]

    def path(self, name):
        return os.path.join(self.tmp, name)

    def diff(self, key, d):
        self.maxdiff[key] = max(self.maxdiff.get(key, 0.0), d)

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"ok    {name}  {detail}")
        else:
            self.failed.append(name)
            print(f"FAIL  {name}  {detail}")

    def note(self, msg):
        self.notes.append(msg)
        print(f"note  {msg}")


# ---------------------------------------------------------------------------
# Text written for this check (no data set is used)

NAMES = ["Anna", "Bruno", "Carla", "Diego", "Elena", "Félix"]
VERBS = ["likes", "reads", "sees", "wants", "finds", "paints"]
OBJS = ["the book", "a red apple", "the old house", "my small dog", "the garden", "a quiet river"]


def corpus(n=240, seed=1):
    r = random.Random(seed)
    lines = [f"{r.choice(NAMES)} {r.choice(VERBS)} {r.choice(OBJS)}{r.choice(['.', '!', '?', ', again.'])}"
             for _ in range(n)]
    return "\n\n".join("\n".join(lines[i:i + 3]) for i in range(0, n, 3)) + "\n"


REVIEWS = [
    "A wonderful, moving film. The cast is superb and the ending made me cry.",
    "Terrible. Boring plot, wooden acting, and it never ends.<br /><br />Avoid it.",
    "It was okay, I guess; some scenes worked, others didn't.",
    "Not bad at all!!! I'd watch it again :)",
    "zxqv blorft unknownwordhere ¿qué? ÉLAN naïve café",
    "<unk> <s> literally the specials </s>",
    "The first half drags, " + "and then nothing happens, " * 60 + "but the finale is brilliant and I loved it.",
    "Great.",
]

SENTENCES = [
    "I like to read books.",
    "Where is the train station?",
    "The children are playing in the garden.",
    "Tom doesn't know what Mary wants.",
    "I have two brothers and a sister.",
    "Zorblax quintessentially flummoxed the xylophone.",
    "She is reading a book, isn't she?",
    "",
]

SENTENCES_ES = [
    "Me gusta leer libros.",
    "¿Dónde está la estación de tren?",
    "Los niños están jugando en el jardín.",
    "Tom no sabe lo que quiere María.",
    "¡Qué día tan bonito hace hoy!",
    "",
]

TOKEN_TEXTS = [
    "Hello, world!  Two  spaces\tand a tab.",
    "¿Dónde está el niño? ¡Qué año!",
    "It's John's \"quoted\" (text) -- with dashes - and... dots",
    "ÉCOLE İstanbul ΣΊΣΥΦΟΣ straße",
    "cafe\u0301 decomposed vs café composed",
    "a\u2581literal metaspace and\u3000ideographic space",
    "<s>specials</s> inside <unk> text <pad><pad> and <notspecial>",
    "emoji 🙂 and 漢字 and numbers 1,234.56%",
    "  leading and trailing spaces  ",
    "",
    "don't can't won't I'll we're you've",
    "ROMEO:\nBut soft, what light!",
]


# ---------------------------------------------------------------------------
# Tokenizers

def check_tokenizers(c, toks, written_by_rnnkit):
    """toks: name -> (tokenizer object, tokenizer.json path)."""
    for name, (tok, path) in toks.items():
        texts = TOKEN_TEXTS + (REVIEWS if tok.kind == "word" else SENTENCES[:-1])
        got = c.jsonl("tokenizer", "encode", "--tokenizer", path, "--json", *texts)
        bad = []
        for text, g in zip(texts, got):
            ids, offs = tok.encode_offsets(text)
            boffs = tok.byte_offsets(text, offs)
            if g["ids"] != ids or [list(o) for o in boffs] != g["offsets"]:
                bad.append(text)
        c.check(f"tokenizer {name} ({tok.kind}): encode ids+offsets of {len(texts)} texts", not bad and len(got) == len(texts),
                f"mismatch on {bad[:2]!r}" if bad else "")
        # decode
        r = random.Random(7)
        idlists = [tok.encode(t) for t in texts[:6]] + [[r.randrange(tok.vocab_size) for _ in range(12)] for _ in range(4)]
        bad = []
        for ids in idlists:
            g = c.run("tokenizer", "decode", "--tokenizer", path, *map(str, ids))[:-1] if ids else ""  # the CLI adds a newline
            if ids and g != tok.decode(ids):
                bad.append((ids, g, tok.decode(ids)))
        c.check(f"tokenizer {name} ({tok.kind}): decode {len(idlists)} id lists", not bad, repr(bad[:1]))
        if tok.json_text is not None and written_by_rnnkit.get(name):
            c.check(f"tokenizer {name}: Python writes the same tokenizer.json", tok.to_json() == tok.json_text)


# ---------------------------------------------------------------------------
# charrnn

def torch_generate(m, o):
    return m.generate(o.get("seed", ""), n=o["n"], temperature=o.get("temperature", 0.0), top_k=o.get("top_k", 0),
                      top_p=o.get("top_p", 0.0), rng_seed=o.get("rng_seed", 0), prime=o.get("prime"),
                      no_prime=o.get("prime") == "", stop=tuple(o.get("stop", ())))


def cli_generate(c, model, o):
    # --quantize none: float arithmetic, as torch runs an int8 file's
    # dequantized weights (rnnkit's default, auto, runs int8 files in int8)
    args = ["generate", "--json", "--quantize", "none", "-n", str(o["n"]), "--seed", o.get("seed", ""),
            "--temperature", str(o.get("temperature", 0.0)), "--rng-seed", str(o.get("rng_seed", 0))]
    if model:
        args += ["--model", model]
    if "prime" in o:
        args += ["--prime", o["prime"]]
    if o.get("top_k"):
        args += ["--top-k", str(o["top_k"])]
    if o.get("top_p"):
        args += ["--top-p", str(o["top_p"])]
    for s in o.get("stop", ()):
        args += ["--stop", s]
    return c.jsonl(*args)[0]


def greedy_margin(m, o, text):
    """The top-2 logit margin where the greedy text `text` would continue."""
    logits, state = m.start(o.get("seed", ""), o.get("prime"), o.get("prime") == "")
    ids = m.tokenizer.encode(text)
    for i in ids:
        logits, state = m.step(i, state)
    top = torch.topk(logits, 2).values
    return float(top[0] - top[1])


def charrnn_cases(m):
    seed = "ROMEO:" if m.tokenizer.id("R") is not None else "Anna"
    return [
        {"seed": seed, "n": 200},
        {"seed": seed, "n": 120, "prime": ""},
        {"seed": "", "n": 80},
        {"seed": "", "n": 80, "prime": ""},
        {"seed": seed, "n": 100, "prime": "\\n"},
        {"seed": seed, "n": 150, "temperature": 0.8, "rng_seed": 7},
        {"seed": seed, "n": 150, "temperature": 1.0, "rng_seed": 3, "top_k": 5},
        {"seed": seed, "n": 150, "temperature": 0.7, "rng_seed": 11, "top_p": 0.9},
        {"seed": seed, "n": 300, "stop": ["\\n\\n"]},
    ]


def _unescape(o):
    # the CLI reads \n in --prime and --stop as a newline; the library takes the text
    o = dict(o)
    for k in ("prime",):
        if k in o:
            o[k] = o[k].replace("\\n", "\n")
    if "stop" in o:
        o["stop"] = [s.replace("\\n", "\n") for s in o["stop"]]
    return o


def compare_generation(c, label, m, path, cases):
    for o in cases:
        lib = _unescape(o)
        want = cli_generate(c, path, o)
        got = torch_generate(m, lib)
        desc = f"{label} generate {json.dumps(o, ensure_ascii=False)}"
        same = got["text"] == want["text"] and got["finish_reason"] == want["finish_reason"] and got["chars"] == want["chars"]
        d = 0.0 if want["mean_log_prob"] is None or got["mean_log_prob"] is None else abs(got["mean_log_prob"] - want["mean_log_prob"])
        if not same and lib.get("temperature", 0) == 0:
            k = next((i for i, (a, b) in enumerate(zip(got["text"], want["text"])) if a != b),
                     min(len(got["text"]), len(want["text"])))
            margin = greedy_margin(m, lib, got["text"][:k])
            if margin < TIE:
                c.note(f"{desc}: texts part at char {k} on a near tie (margin {margin:.2e}); not counted")
                continue
            desc += f" (diverges at char {k}, margin {margin:.3g})"
        c.diff("charrnn mean_log_prob", d)
        c.check(desc, same and d <= TOL_LOGPROB,
                f"|dlogp| {d:.2e}" + ("" if same else f"\n  rnnkit: {want['text'][:120]!r}\n  torch:  {got['text'][:120]!r}"))


def check_charrnn(c, trained):
    emb = os.path.join(MODELS, "charrnn.safetensors")
    m = rk.load(emb)
    compare_generation(c, "rnnkit->torch charrnn default", m, emb, charrnn_cases(m))
    if trained:
        mt = rk.load(trained)
        compare_generation(c, "rnnkit->torch charrnn trained", mt, trained, charrnn_cases(mt)[:4])

    # torch -> rnnkit: the default with perturbed weights, F32
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    p1 = c.path("charrnn-perturbed.safetensors")
    m.save(p1)
    compare_generation(c, "torch->rnnkit charrnn perturbed", rk.load(p1), p1, charrnn_cases(m)[:6])
    # int8 (I8 weight matrices with per-row scales): rnnkit dequantizes as torch does
    p8 = c.path("charrnn-perturbed-int8.safetensors")
    m.save(p8, "I8")
    compare_generation(c, "torch->rnnkit charrnn perturbed int8", rk.load(p8), p8, charrnn_cases(m)[:4])

    # random models of other cells, one-hot input, F16
    text = corpus()
    tok = rk.RuneTokenizer.from_text(text)
    for i, cfg in enumerate([
        {"cell": "gru", "embedding": 0, "hidden": 48, "layers": 2, "dropout": 0.1, "emb_dropout": 0},
        {"cell": "rnn_tanh", "embedding": 16, "hidden": 40, "layers": 1, "dropout": 0, "emb_dropout": 0},
        {"cell": "rnn_relu", "embedding": 12, "hidden": 32, "layers": 3, "dropout": 0, "emb_dropout": 0.1},
        {"cell": "lstm", "embedding": 24, "hidden": 32, "layers": 2, "dropout": 0, "emb_dropout": 0},
    ]):
        torch.manual_seed(10 + i)
        r = rk.CharRNN(cfg, tok).eval()
        with torch.no_grad():  # larger weights than torch's init, for less uniform outputs
            for p in r.parameters():
                p.mul_(2.5)
        dtype = "F16" if i % 2 else "F32"
        path = c.path(f"charrnn-random-{i}.safetensors")
        r.save(path, dtype)
        r2 = rk.load(path)  # the weights as stored (F16 rounding)
        compare_generation(c, f"torch->rnnkit charrnn {cfg['cell']} E={cfg['embedding']} {dtype}", r2, path,
                                   [{"seed": "Anna", "n": 120}, {"seed": "", "n": 60, "prime": ""},
                                    {"seed": "Bruno", "n": 100, "temperature": 0.9, "rng_seed": 5}])


# ---------------------------------------------------------------------------
# sentiment

def compare_sentiment(c, label, m, model_path, reviews):
    files = []
    for i, t in enumerate(reviews):
        f = c.path(f"review-{i}.txt")
        with open(f, "w", encoding="utf-8") as fh:
            fh.write(t)
        files.append(f)
    args = ["classify", "--json", "--probs", "--quantize", "none"] + (["--model", model_path] if model_path else []) + files
    got = c.jsonl(*args)
    mine = m.predict(reviews)
    md, md4, bad = 0.0, 0.0, []
    for i, (g, p) in enumerate(zip(got, mine)):
        for lab, v in g["probabilities"].items():
            md = max(md, abs(v - p["probs"][lab]))
            md4 = max(md4, abs(v - math.floor(p["probs"][lab] * 1e4 + 0.5) / 1e4))  # rnnkit's math.Round(x*1e4)/1e4
        if g["label"] != p["label"] and abs(p["probability"] - max(q for l, q in p["probs"].items() if l != p["label"])) > 1e-4:
            bad.append(i)
    c.diff("sentiment classify probability (printed to 4 decimals)", md)
    c.diff("sentiment classify probability, torch also rounded", md4)
    c.check(f"{label} classify --json --probs, {len(reviews)} reviews", len(got) == len(reviews) and md <= TOL_PROB4 and not bad,
            f"max |dp| {md:.2e}, {md4:.0e} after rounding torch's" + (f", labels differ on {bad}" if bad else ""))
    # eval: mean cross entropy to 6 decimals; label each review with its least likely class
    tsv = c.path("eval.tsv")
    labels = m.labels
    with open(tsv, "w", encoding="utf-8") as fh:
        for t, p in zip(reviews, mine):
            lab = min(labels, key=lambda l: p["probs"][l])
            fh.write(t.replace("\t", " ").replace("\n", " ") + "\t" + lab + "\n")
    rep = c.jsonl("eval", "sentiment", "--json", "--quantize", "none", "--data", tsv, "--format", "tsv", *(["--model", model_path] if model_path else []))[0]
    mine_loss = m.probs([l.split("\t")[0] for l in open(tsv, encoding="utf-8").read().splitlines()])
    idx = [labels.index(l.split("\t")[1]) for l in open(tsv, encoding="utf-8").read().splitlines()]
    loss = -sum(math.log(max(float(mine_loss[i, j]), 1e-30)) for i, j in enumerate(idx)) / len(idx)
    d = abs(loss - rep["loss"])
    c.diff("sentiment eval loss (6 decimals)", d / max(1.0, abs(loss)))
    c.check(f"{label} eval sentiment --json loss", d <= TOL_LOSS * max(1.0, abs(loss)), f"rnnkit {rep['loss']:.6f} torch {loss:.6f}")


def check_sentiment(c):
    emb = os.path.join(MODELS, "sentiment.safetensors")
    m = rk.load(emb)
    compare_sentiment(c, "rnnkit->torch sentiment default", m, emb, REVIEWS)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    p1 = c.path("sentiment-perturbed.safetensors")
    m.save(p1, "F16")
    compare_sentiment(c, "torch->rnnkit sentiment perturbed F16", rk.load(p1), p1, REVIEWS)
    p8 = c.path("sentiment-perturbed-int8.safetensors")
    m.save(p8, "I8")
    compare_sentiment(c, "torch->rnnkit sentiment perturbed int8", rk.load(p8), p8, REVIEWS)

    # random models: other cells, poolings, truncations, tokenizers
    lines = [l for l in corpus(300, 3).splitlines() if l] + REVIEWS
    word = rk.WordTokenizer.train(lines, lowercase=True, nfc=True, split_punct=True, min_freq=1)
    bpe = rk.load_tokenizer(rk.read_model(os.path.join(MODELS, "seq2seq.safetensors"))[1]["tokenizers"]["src"])
    bpe_punct = rk.load_tokenizer(_punct_variant(bpe.json_text, lower=True))
    cfgs = [
        ({"cell": "lstm", "embedding": 16, "hidden": 24, "layers": 2, "bidirectional": False, "pooling": "last+attention",
          "dropout": 0.1, "emb_dropout": 0, "labels": ["negative", "positive"], "max_len": 20, "truncate": "head"}, word),
        ({"cell": "gru", "embedding": 12, "hidden": 16, "layers": 2, "bidirectional": True,
          "pooling": "attention+max+mean+last", "dropout": 0, "emb_dropout": 0, "labels": ["1", "2", "3"],
          "max_len": 15, "truncate": "tail"}, bpe_punct),
        ({"cell": "rnn_tanh", "embedding": 8, "hidden": 20, "layers": 1, "bidirectional": True, "pooling": "last",
          "dropout": 0, "emb_dropout": 0, "labels": ["bad", "good"], "max_len": 400, "truncate": "head+tail"}, bpe),
        ({"cell": "lstm", "embedding": 10, "hidden": 12, "layers": 1, "bidirectional": True, "pooling": "mean+max",
          "dropout": 0, "emb_dropout": 0, "labels": ["no", "yes"], "max_len": 9, "truncate": "head+tail"}, word),
    ]
    for i, (cfg, tok) in enumerate(cfgs):
        torch.manual_seed(20 + i)
        r = rk.Sentiment(cfg, tok).eval()
        with torch.no_grad():
            for p in r.parameters():
                p.mul_(3.0)
        path = c.path(f"sentiment-random-{i}.safetensors")
        r.save(path)
        compare_sentiment(c, f"torch->rnnkit sentiment {cfg['cell']} {cfg['pooling']} {tok.kind}", r, path, REVIEWS)
    check_sentiment_ngram(c)


POLAR = {1: ["wonderful", "superb", "moving", "brilliant", "loved", "great", "funny"],
         0: ["boring", "awful", "wooden", "terrible", "dull", "hated", "mess"]}
FILLER = ["the", "film", "plot", "was", "and", "a", "cast", "ending", "it", "not", "very", "really", "."]


def labelled_reviews(n=400, seed=4):
    """Synthetic reviews (text, class 0 or 1) whose class follows their polar words."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        y = i % 2
        words = [r.choice(FILLER) for _ in range(r.randrange(4, 40))]
        for _ in range(r.randrange(1, 4)):
            words.insert(r.randrange(len(words) + 1), r.choice(POLAR[y]))
        out.append((" ".join(words), y))
    return out


def ngram_reviews():
    """Reviews for the n-gram models: the usual ones, synthetic ones whose
    n-grams the branches weigh, a literal <pad> (id 0, whose n-grams are
    skipped) and a review longer than the models' max_len."""
    syn = [t for t, _ in labelled_reviews(12, seed=9)]
    return REVIEWS + syn + ["<pad> wonderful <pad> <pad> boring film <pad>",
                            " ".join(FILLER * 12) + " wonderful ending"]


def check_sentiment_ngram(c):
    """Models with the linear n-gram branch (config "ngram", tensors
    ngram.weight and ngram.bias; docs/FORMAT.md): written by torch with
    weights that dominate the mixture, so that a wrong bucket shows; trained
    by rnnkit (when its train sentiment has --ngram); and configs both
    sides must refuse."""
    rows = labelled_reviews()
    word = rk.WordTokenizer.train([t for t, _ in rows] + REVIEWS, lowercase=True, nfc=True, split_punct=True, min_freq=1)
    reviews = ngram_reviews()
    cfgs = [
        ({"cell": "gru", "embedding": 8, "hidden": 10, "layers": 1, "bidirectional": True, "pooling": "max+mean",
          "labels": ["negative", "positive"], "max_len": 30, "truncate": "head+tail",
          "ngram": {"n": 3, "buckets": 4096, "weight": 0.5}}, "F32"),
        ({"cell": "lstm", "embedding": 8, "hidden": 8, "layers": 2, "bidirectional": False, "pooling": "last+attention",
          "labels": ["a", "b", "c", "d"], "max_len": 20, "truncate": "tail",
          "ngram": {"n": 5, "buckets": 64, "weight": 0.8}}, "F16"),
        ({"cell": "gru", "embedding": 8, "hidden": 8, "layers": 1, "bidirectional": True, "pooling": "mean",
          "labels": ["bad", "good"], "max_len": 400, "truncate": "head",
          "ngram": {"n": 2, "buckets": 1 << 14, "weight": 0.3}}, "I8"),   # ngram.weight (1, 16384): I8, one scale
        ({"cell": "rnn_tanh", "embedding": 8, "hidden": 8, "layers": 1, "bidirectional": False, "pooling": "max",
          "labels": ["x", "y", "z"], "max_len": 40, "truncate": "head+tail",
          "ngram": {"n": 1, "buckets": 512, "weight": 0.65}}, "I8"),      # (3, 512): I8 with three scales
        ({"cell": "lstm", "embedding": 8, "hidden": 8, "layers": 1, "bidirectional": True, "pooling": "max",
          "labels": ["no", "yes"], "max_len": 400, "truncate": "head+tail",
          "ngram": {"n": 4, "buckets": 2, "weight": 0.05}}, "I8"),        # (1, 2): F16
    ]
    for i, (cfg, dtype) in enumerate(cfgs):
        torch.manual_seed(50 + i)
        r = rk.Sentiment(cfg, word).eval()
        with torch.no_grad():
            for p in r.parameters():
                p.mul_(3.0)
            r.ngram.weight.normal_(0, 0.8)
            r.ngram.bias.normal_(0, 0.5)
        path = c.path(f"sentiment-ngram-{i}.safetensors")
        r.save(path, dtype)
        ng = cfg["ngram"]
        compare_sentiment(c, f"torch->rnnkit sentiment ngram n={ng['n']} buckets={ng['buckets']} w={ng['weight']} "
                             f"{len(cfg['labels'])} classes {dtype}", rk.load(path), path, reviews)

    # rnnkit -> torch: a branch that rnnkit's TrainNGram fitted
    if "--ngram " in c.run("train", "sentiment", "--help"):
        tsv = c.path("ngram-train.tsv")
        with open(tsv, "w", encoding="utf-8") as f:
            f.writelines(f"{t}\t{['negative', 'positive'][y]}\n" for t, y in rows)
        out = c.path("ngram-trained.safetensors")
        c.run("train", "sentiment", "--data", tsv, "--format", "tsv", "--out", out, "--cell", "gru", "--embedding", "8",
              "--hidden", "8", "--epochs", "1", "--batch", "16", "--warmup", "2", "--min-freq", "1", "--max-len", "24",
              "--ngram", "3", "--ngram-buckets", "4096", "--ngram-min-count", "1", "--ngram-weight", "0.6")
        m = rk.load(out)
        want = {"n": 3, "buckets": 4096, "weight": float(torch.tensor(0.6).item())}  # the float32 0.6
        c.check("rnnkit train sentiment --ngram: the file has the n-gram branch",
                m.config.get("ngram") == want and bool(m.ngram.weight.abs().sum() > 0), str(m.config.get("ngram")))
        compare_sentiment(c, "rnnkit->torch sentiment trained with --ngram 3", m, out, reviews)
        again = c.path("ngram-trained-rewrite.safetensors")
        m.save(again)
        c.check("file ngram-trained.safetensors: loaded and saved by Python (F32) is byte-identical",
                open(again, "rb").read() == open(out, "rb").read())
    else:
        c.note("rnnkit train sentiment has no --ngram: the rnnkit->torch n-gram check is skipped")

    # configs that rnnkit refuses, Python too (after one both accept: the same file unchanged)
    base = c.path("sentiment-ngram-0.safetensors")
    tensors, meta = rk.load_file(base)
    cfg0 = json.loads(meta["config"])
    bad = {"n 0": {"n": 0}, "n 6": {"n": 6}, "buckets 3": {"buckets": 3}, "buckets 1": {"buckets": 1},
           "buckets 2^27": {"buckets": 1 << 27}, "weight 0": {"weight": 0}, "weight 1": {"weight": 1},
           "weight 0.99999999 (1 as float32)": {"weight": 0.99999999}, "weight -0.5": {"weight": -0.5},
           "n a string": {"n": "3"}}
    cases = [("unchanged", cfg0, tensors, True)]
    cases += [(k, dict(cfg0, ngram=dict(cfg0["ngram"], **v)), tensors, False) for k, v in bad.items()]
    cases.append(("ngram null", dict(cfg0, ngram=None), tensors, False))
    cases.append(("no ngram tensors", cfg0, {k: v for k, v in tensors.items() if not k.startswith("ngram.")}, False))
    cases.append(("ngram tensors without ngram", {k: v for k, v in cfg0.items() if k != "ngram"}, tensors, False))
    cases.append(("ngram.weight of other buckets", dict(cfg0, ngram=dict(cfg0["ngram"], buckets=2048)), tensors, False))
    for name, cfg, ts, ok in cases:
        path = c.path("sentiment-ngram-edited.safetensors")
        rk.save_file(path, ts, dict(meta, config=json.dumps(cfg, separators=(",", ":"))))
        try:
            rk.load(path)
            py = True
        except ValueError:
            py = False
        try:
            c.run("classify", "--model", path, stdin="A wonderful film.\n")
            go = True
        except RuntimeError:
            go = False
        word = "read" if ok else "refused"
        c.check(f"sentiment ngram config {name}: {word} by rnnkit and by Python", py == ok and go == ok,
                f"Python {'read it' if py else 'refused'}, rnnkit {'read it' if go else 'refused'}")


def _punct_variant(json_text, lower=False):
    """A BPE tokenizer.json with punctuation isolation (and lowercasing)."""
    f = json.loads(json_text)
    if f["pre_tokenizer"].get("type") != "Sequence":
        f["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [f["pre_tokenizer"], {"type": "Punctuation", "behavior": "Isolated"}]}
    if lower:
        f["normalizer"] = {"type": "Lowercase"}
    return json.dumps(f, ensure_ascii=False)


# ---------------------------------------------------------------------------
# seq2seq

def s2s_margin(m, src_text, prefix):
    ids = m.src.encode(src_text)
    keys, proj, mask, state = m.encode([ids])
    ctx = keys.new_zeros(1, keys.shape[2])
    y = torch.tensor([rk.BOS])
    for t in prefix + [None]:
        logits, state, ctx, _ = m.step(y, state, ctx, keys, proj, mask)
        if t is None:
            top = torch.topk(torch.log_softmax(logits[0], -1), 2).values
            return float(top[0] - top[1])
        y = torch.tensor([t])


def compare_translate(c, label, m, model_path, sentences, beam=1, keep_unk=False):
    # --quantize none: float arithmetic, as torch runs an int8 file's
    # dequantized weights (the default translators are int8 files)
    args = ["translate", "--json", "--beam", str(beam), "--quantize", "none"] + \
        (["--model", model_path] if model_path else []) + (["--keep-unk"] if keep_unk else [])
    if beam > 1 and c.has_flag("translate", "--lexicon-penalty"):
        args += ["--lexicon-penalty", "0"]  # the lexicon re-ranking is not compared
    if beam > 1 and c.has_flag("translate", "--back-weight"):
        args += ["--back-weight", "0"]  # nor the re-ranking by the other direction
    got = c.jsonl(*args, stdin="\n".join(sentences) + "\n")
    mine = m.translate(sentences, beam=beam, keep_unk=keep_unk)
    bad, dl, da, ties = [], 0.0, 0.0, 0
    for s, g, p in zip(sentences, got, mine):
        if g.get("translation", "") == "" and p["translation"] == "" and not s.strip():
            continue
        if g["translation"] != p["translation"] or g["target_tokens"] != p["target_tokens"]:
            if beam == 1:
                k = next((i for i, (a, b) in enumerate(zip(g["target_tokens"], p["target_tokens"])) if a != b),
                         min(len(g["target_tokens"]), len(p["target_tokens"])))
                ids = [m.tgt.id(t) for t in p["target_tokens"][:k]]
                mg = s2s_margin(m, s, ids)
                if mg < TIE:
                    ties += 1
                    c.note(f"{label}: {s!r} parts at token {k} on a near tie (margin {mg:.2e}); not counted")
                    continue
            bad.append((s, g["translation"], p["translation"]))
            continue
        dl = max(dl, abs(g["log_prob"] - p["log_prob"]))
        for ra, rb in zip(g["attention"], p["attention"]):
            for a, b in zip(ra, rb):
                da = max(da, abs(a - b))
    c.diff(f"seq2seq log_prob (beam {beam})", dl)
    c.diff(f"seq2seq attention (beam {beam})", da)
    c.check(f"{label} translate --beam {beam}{' --keep-unk' if keep_unk else ''} --json, {len(sentences)} sentences",
            len(got) == len(sentences) and not bad and dl <= TOL_S2S_LOGPROB and da <= TOL_ATTN,
            f"max |dlogp| {dl:.2e}, max |dattn| {da:.2e}" + (f"\n  differ: {bad[:2]!r}" if bad else ""))


def check_seq2seq(c):
    emb = os.path.join(MODELS, "seq2seq.safetensors")
    for path, kind, _ in model_files():
        if kind == "seq2seq" and path != emb:  # another default, e.g. es->en: the sentences' translations
            mo = rk.load(path)
            src = SENTENCES_ES
            compare_translate(c, f"rnnkit->torch {os.path.basename(path)}", mo, path, src)
            compare_translate(c, f"rnnkit->torch {os.path.basename(path)}", mo, path, src[:3], beam=5)
    m = rk.load(emb)
    compare_translate(c, "rnnkit->torch seq2seq default", m, emb, SENTENCES)
    compare_translate(c, "rnnkit->torch seq2seq default", m, emb, SENTENCES[:4], beam=5)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.01)
    p1 = c.path("seq2seq-perturbed.safetensors")
    m.save(p1)
    compare_translate(c, "torch->rnnkit seq2seq perturbed", rk.load(p1), p1, SENTENCES)

    # random models of other configs, with word and BPE (punctuation-isolating) tokenizers
    r0 = random.Random(5)
    src_lines = [f"{r0.choice(NAMES)} {r0.choice(VERBS)} {r0.choice(OBJS)}." for _ in range(200)]
    tgt_lines = [f"{r0.choice(NAMES)} ve {r0.choice(['el libro', 'la casa', 'un perro', 'el río'])}." for _ in range(200)]
    wsrc = rk.WordTokenizer.train(src_lines, split_punct=True, min_freq=1)
    wtgt = rk.WordTokenizer.train(tgt_lines + ["¿ ¡ ( ) \" - ' s"], split_punct=True, min_freq=1)
    bpe = rk.read_model(emb)[1]["tokenizers"]
    bsrc = rk.load_tokenizer(_punct_variant(bpe["src"]))
    btgt = rk.load_tokenizer(_punct_variant(bpe["tgt"]))
    cfgs = [
        ({"cell": "lstm", "embedding": 16, "enc_hidden": 12, "enc_layers": 2, "dec_hidden": 20, "dec_layers": 2,
          "attention": "general", "attn_hidden": 0, "input_feeding": True, "tie_embeddings": False, "dropout": 0.1},
         wsrc, wtgt),
        ({"cell": "gru", "embedding": 12, "enc_hidden": 10, "enc_layers": 1, "dec_hidden": 20, "dec_layers": 1,
          "attention": "dot", "attn_hidden": 20, "input_feeding": False, "tie_embeddings": True, "dropout": 0},
         bsrc, btgt),
        ({"cell": "gru", "embedding": 8, "enc_hidden": 16, "enc_layers": 1, "dec_hidden": 12, "dec_layers": 2,
          "attention": "additive", "attn_hidden": 7, "input_feeding": True, "tie_embeddings": True, "dropout": 0},
         wsrc, btgt),
        ({"cell": "lstm", "embedding": 8, "enc_hidden": 8, "enc_layers": 1, "dec_hidden": 16, "dec_layers": 1,
          "attention": "additive", "attn_hidden": 16, "input_feeding": False, "tie_embeddings": False, "dropout": 0},
         bsrc, wtgt),
    ]
    sents = SENTENCES[:-1] + src_lines[:3]
    for i, (cfg, s, t) in enumerate(cfgs):
        torch.manual_seed(30 + i)
        r = rk.Seq2Seq(cfg, s, t).eval()
        with torch.no_grad():
            for p in r.parameters():
                p.mul_(3.0)
        dtype = "F16" if i % 2 else "F32"
        path = c.path(f"seq2seq-random-{i}.safetensors")
        r.save(path, dtype)
        r2 = rk.load(path)
        lab = f"torch->rnnkit seq2seq {cfg['cell']} {cfg['attention']} if={cfg['input_feeding']} tie={cfg['tie_embeddings']} {s.kind}/{t.kind} {dtype}"
        compare_translate(c, lab, r2, path, sents)
        if i == 0:
            compare_translate(c, lab, r2, path, sents, keep_unk=True)


# ---------------------------------------------------------------------------
# files and checkpoints

def check_files(c, trained):
    for src, kind, dtype in model_files():
        if dtype is None:
            continue
        out = c.path("rewrite-" + os.path.basename(src))
        rk.load(src).save(out, dtype)
        same = open(out, "rb").read() == open(src, "rb").read()
        c.check(f"file {os.path.basename(src)}: loaded and saved by Python ({dtype}) is byte-identical", same)
    if not trained:
        return
    model, ckpt = trained, trained + ".ckpt"
    ck = rk.read_checkpoint(ckpt)
    m = ck["model"]
    best = rk.load(model)  # --out is the best model, F32
    okb = ck["run"]["best"] is not None and all(torch.equal(ck["run"]["best"][n], v) for n, v in best.state_dict().items())
    c.check("checkpoint: optim.run.best in parameter order equals the best model's weights", okb)
    shapes = all(ck["optim"][key][n].shape == v.shape for key in ("exp_avg", "exp_avg_sq") for n, v in m.state_dict().items())
    c.check("checkpoint: optim.exp_avg, optim.exp_avg_sq split into every parameter's shape", shapes,
            f"optim.step {ck['optim']['step']}, train.step {ck['run']['step']}, train.best_step {ck['run']['best_step']}")
    out = c.path("rewritten.ckpt")
    rk.write_checkpoint(out, ck)
    c.check("checkpoint: read and written back by Python is byte-identical", open(out, "rb").read() == open(ckpt, "rb").read())


def train_tiny(c):
    data = c.path("tiny.txt")
    with open(data, "w") as f:
        f.write(corpus(180, 2))
    out = c.path("tiny-charrnn.safetensors")
    c.run("train", "charrnn", "--data", data, "--out", out, "--cell", "gru", "--embedding", "8", "--hidden", "16",
          "--layers", "2", "--epochs", "0.5", "--batch", "4", "--seq-len", "16", "--warmup", "2", "--eval-every", "8",
          "--checkpoint-every", "1")  # so that the last checkpoint follows the last evaluation
    return out


# ---------------------------------------------------------------------------

def find_rnnkit(arg, tmp):
    b = arg or os.environ.get("RNNKIT")
    if b:
        return b
    go = shutil.which("go")
    if not go:
        sys.exit("check_parity: no rnnkit binary (--rnnkit or RNNKIT) and no go to build one")
    b = os.path.join(tmp, "rnnkit")
    p = subprocess.run([go, "build", "-o", b, "./cmd/rnnkit"], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"check_parity: go build ./cmd/rnnkit failed:\n{p.stderr}")
    return b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rnnkit", help="rnnkit binary (default: $RNNKIT, else built with go build)")
    ap.add_argument("--keep", help="keep the files written in this directory")
    ap.add_argument("--no-train", action="store_true", help="skip the tiny rnnkit training (checkpoint checks)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every check")
    ap.add_argument("--only", help="comma-separated: tokenizers, files, charrnn, sentiment, seq2seq")
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    torch.set_num_threads(1)
    t0 = time.time()
    tmp = a.keep or tempfile.mkdtemp(prefix="rnnkit-parity-")
    os.makedirs(tmp, exist_ok=True)
    try:
        c = Checker(find_rnnkit(a.rnnkit, tmp), tmp, a.verbose)
        only = set(a.only.split(",")) if a.only else {"tokenizers", "files", "charrnn", "sentiment", "seq2seq"}
        trained = None if a.no_train or not ({"files", "charrnn"} & only) else train_tiny(c)
        if "tokenizers" in only:
            toks = {}
            for path, kind, _ in model_files():
                info = rk.read_model(path)[1]
                for n in sorted(info["tokenizers"]):
                    toks[os.path.basename(path)[:-len(".safetensors")] + ("." + n if n else "")] = info["tokenizers"][n]
            toks["seq2seq.src+punct+lower"] = _punct_variant(toks["seq2seq.src"], lower=True)
            toks["seq2seq.tgt+punct"] = _punct_variant(toks["seq2seq.tgt"])
            py = {"python rune": rk.RuneTokenizer.from_text(corpus()),
                  "python word (nfc, lower)": rk.WordTokenizer.train(REVIEWS + TOKEN_TEXTS, lowercase=True, nfc=True),
                  "python word (whitespace)": rk.WordTokenizer.train(REVIEWS, split_punct=False)}
            objs = {}
            for n, tj in toks.items():
                p = c.path(f"tok-{len(objs)}.json")
                with open(p, "w", encoding="utf-8") as f:
                    f.write(tj)
                objs[n] = (rk.load_tokenizer(tj), p)
            for n, t in py.items():
                p = c.path(f"tok-{len(objs)}.json")
                with open(p, "w", encoding="utf-8") as f:
                    f.write(t.to_json())
                objs[n] = (t, p)
            check_tokenizers(c, objs, {n: True for n in toks if "+" not in n})
        if "files" in only:
            check_files(c, trained)
        if "charrnn" in only:
            check_charrnn(c, trained)
        if "sentiment" in only:
            check_sentiment(c)
        if "seq2seq" in only:
            check_seq2seq(c)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("max differences, rnnkit vs torch:")
    for k, v in sorted(c.maxdiff.items()):
        print(f"  {k:56s} {v:.2e}")
    print(f"({time.time() - t0:.1f}s, safetensors I/O: {'safetensors package' if rk._have_safetensors() else 'built-in'})")
    if c.failed:
        print("failed: " + "; ".join(c.failed))
    print(f"parity: {c.passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
