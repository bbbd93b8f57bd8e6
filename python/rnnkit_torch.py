"""rnnkit model files in PyTorch.

PyTorch modules for rnnkit's three model kinds, which load and save rnnkit
model files (safetensors with PyTorch state_dict names; docs/FORMAT.md):

    CharRNN    kind "charrnn"    character-level generator (one-to-many)
    Sentiment  kind "sentiment"  review classifier (many-to-one)
    Seq2Seq    kind "seq2seq"    translator with attention (many-to-many)

and the tokenizers of rnnkit's tokenizer.json layouts (RuneTokenizer,
WordTokenizer, BPETokenizer), which encode and decode exactly as rnnkit does.

    import rnnkit_torch as rk
    m = rk.load("charrnn.safetensors")          # the module for the file's kind, in eval mode
    print(m.generate("ROMEO:", n=200, greedy=True)["text"])
    ...fine-tune m...
    m.save("tuned.safetensors")                 # F32; dtype="F16" halves the file, "I8" (int8) quarters it

    s = rk.load("sentiment.safetensors")
    s.predict(["A wonderful film."])            # [{"label", "probability", "probs"}]

    t = rk.load("seq2seq.safetensors")
    t.translate(["I like to read books."])      # greedy; beam=5 is the CLI's default

Inference reproduces rnnkit's (same tokens, same greedy choices, the same
samples for a given --rng-seed, probabilities equal to float32 rounding);
python/check_parity.py checks it against the rnnkit binary.

safetensors I/O uses the `safetensors` package when it is installed (set
RNNKIT_TORCH_PURE=1 to use the built-in reader/writer instead), else a small
built-in one: F32, F16 and BF16 read and written, and rnnkit's int8 files
(dtype "I8": weight matrices as I8 with per-row F32 scales "<name>:scale",
dequantized on read exactly as rnnkit does). The built-in writer writes the
same bytes rnnkit does for the same tensors and metadata.

Tokenizers: the rune, word and BPE layouts rnnkit writes are implemented here
(no package needed). Any other tokenizer.json loads through the `tokenizers`
package when it is installed (GenericTokenizer); rnnkit runs such files
through sugarme, whose output may differ from HF tokenizers'.
"""

import contextlib
import json
import math
import os
import struct
import sys
import tempfile
import unicodedata

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "FORMAT_VERSION", "PAD", "UNK", "BOS", "EOS", "SPECIALS",
    "load_file", "save_file", "quantize_q8", "read_model", "metadata",
    "load_tokenizer", "RuneTokenizer", "WordTokenizer", "BPETokenizer", "GenericTokenizer",
    "CharRNN", "Sentiment", "Seq2Seq", "load", "KINDS", "ngram_buckets", "MAX_NGRAM",
    "read_checkpoint", "write_checkpoint", "unflatten", "flatten", "GoPCG",
]

FORMAT_VERSION = 1
PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
OPTIM_PREFIX = "optim."
RESERVED = ("format_version", "kind", "config", "tokenizer")

if sys.byteorder != "little":
    raise ImportError("rnnkit_torch assumes a little-endian machine")


# ---------------------------------------------------------------------------
# safetensors

_DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
_DT_NAME = {v: k for k, v in _DT.items()}
_DT_NAME[torch.int8] = "I8"
_DT_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1}

# int8 files (rnn.Q8 in Go; docs/FORMAT.md "int8 files"): a 2-D tensor of at
# least Q8_MIN_ELEMENTS elements is stored as I8 with one F32 scale per row in
# the tensor "<name>" + Q8_SCALE_SUFFIX; every other tensor as F16 (F32 where
# F16 would overflow).
Q8_MIN_ELEMENTS = 1024
Q8_SCALE_SUFFIX = ":scale"
_Q8_MIN_SCALE = 2.0 ** -126  # the smallest normal float32


def _have_safetensors():
    if os.environ.get("RNNKIT_TORCH_PURE"):
        return False
    try:
        import safetensors.torch  # noqa: F401
        return True
    except ImportError:
        return False


def load_file(path):
    """Read a safetensors file: (dict name -> float32 tensor, metadata dict).

    F32, F16 and BF16 tensors are converted to float32, and I8 matrices are
    dequantized with their scales (q * scale[row], one float32 product), as
    rnnkit does; the scale tensors are not returned. Any other dtype, and an
    I8 tensor without valid scales, is an error naming the tensor."""
    if _have_safetensors():
        from safetensors import safe_open
        raw = {}
        with safe_open(path, framework="pt") as f:
            meta = dict(f.metadata() or {})
            for name in f.keys():
                t = f.get_tensor(name)
                if t.dtype not in _DT_NAME:
                    raise ValueError(f"{path}: tensor {name!r} has dtype {t.dtype}; rnnkit reads F32, F16, BF16 and I8 (int8 matrices with per-row scales)")
                raw[name] = t
        return _to_float32(path, raw), meta
    return _read_pure(path)


def _to_float32(path, raw):
    """Convert tensors as stored (name -> tensor of a dtype in _DT_NAME) to
    float32, dequantizing each I8 matrix with its scales, which are checked
    as rnnkit checks them."""
    out = {}
    for name, t in raw.items():
        if name.endswith(Q8_SCALE_SUFFIX):
            base = name[:-len(Q8_SCALE_SUFFIX)]
            if base not in raw:
                raise ValueError(f"{path}: tensor {name!r} is named as the scales of an int8 tensor {base!r}, which the file does not have")
            if raw[base].dtype != torch.int8:
                raise ValueError(f"{path}: tensor {name!r} is named as the scales of an int8 tensor, but {base!r} has dtype {_DT_NAME[raw[base].dtype]}, not I8")
            continue
        if t.dtype != torch.int8:
            out[name] = t.float().contiguous()
            continue
        if t.dim() != 2:
            raise ValueError(f"{path}: tensor {name!r} has dtype I8 and shape {list(t.shape)}; rnnkit reads I8 only as 2-D weight matrices with per-row scales")
        sn = name + Q8_SCALE_SUFFIX
        if sn not in raw:
            raise ValueError(f"{path}: int8 tensor {name!r} has no scale tensor {sn!r} (F32, one scale per row)")
        s = raw[sn]
        if s.dtype != torch.float32:
            raise ValueError(f"{path}: scale tensor {sn!r} has dtype {_DT_NAME[s.dtype]}; the scales of an int8 tensor are F32")
        if list(s.shape) != [t.shape[0]]:
            raise ValueError(f"{path}: scale tensor {sn!r} has shape {list(s.shape)}, but int8 tensor {name!r} of shape {list(t.shape)} needs [{t.shape[0]}] (one scale per row)")
        bad = ~((s >= 0) & torch.isfinite(s * torch.full_like(s, 127.0)))
        if bad.any():
            i = int(bad.nonzero()[0])
            raise ValueError(f"{path}: scale tensor {sn!r} has {float(s[i])} for row {i}; int8 scales are finite, not negative, and at most 2.68e36")
        if (t == -128).any():
            raise ValueError(f"{path}: int8 tensor {name!r} has -128; rnnkit's int8 values lie in [-127, 127]")
        out[name] = (t.float() * s[:, None]).contiguous()
    return out


def quantize_q8(t, name="tensor"):
    """Quantize a 2-D tensor as rnnkit's int8 files do (and its int8
    inference, kernel.QuantizeWeights): per row, scale = max|row| / 127 in
    float32 (0 when below the smallest normal float32, the row then stored as
    zeros), q = round(w * (1 / scale)) to nearest, ties to even (torch.round,
    Go's math.RoundToEven), clamped to [-127, 127]. Returns (q int8, scale
    float32); q * scale[:, None] is what rnnkit reads."""
    w = t.detach().to("cpu", torch.float32).contiguous()
    mx = w.abs().amax(dim=1)
    s = mx / torch.full_like(mx, 127.0)  # a tensor divisor: true division, never a reciprocal product
    s = torch.where(s < _Q8_MIN_SCALE, torch.zeros_like(s), s)
    if not torch.isfinite(s * torch.full_like(s, 127.0)).all():
        raise ValueError(f"tensor {name!r} is too large for int8 storage; save as F32")
    nz = s > 0
    inv = torch.ones_like(s) / torch.where(nz, s, torch.ones_like(s))
    q = torch.round(w * inv[:, None]).clamp_(-127, 127)
    q = torch.where(nz[:, None], q, torch.zeros_like(q)).to(torch.int8)
    return q.contiguous(), s.contiguous()


def _read_pure(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n < 2 or n > 100 << 20 or 8 + n > len(data):
        raise ValueError(f"{path}: not a safetensors file or truncated (header length {n}, file {len(data)} bytes)")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    spans, tensors = [], {}
    for name, e in header.items():
        dt = e.get("dtype")
        if dt not in _DT_SIZE:
            raise ValueError(f"{path}: tensor {name!r} has dtype {dt!r}; rnnkit reads F32, F16, BF16 and I8 (int8 matrices with per-row scales)")
        shape = [int(d) for d in e["shape"]]
        b, end = (int(x) for x in e["data_offsets"])
        numel = math.prod(shape)
        if end - b != numel * _DT_SIZE[dt] or b < 0:
            raise ValueError(f"{path}: tensor {name!r}: data_offsets [{b}, {end}] do not fit shape {shape} of {dt}")
        spans.append((b, end, name))
        tdt = torch.int8 if dt == "I8" else _DT[dt]
        if numel == 0:
            t = torch.empty(shape, dtype=tdt)
        else:
            t = torch.frombuffer(bytearray(body[b:end]), dtype=tdt).reshape(shape)
        tensors[name] = t
    pos = 0
    for b, end, name in sorted(spans):
        if b != pos:
            raise ValueError(f"{path}: tensor {name!r} does not start where the previous one ends ({b} != {pos})")
        pos = end
    if pos != len(body):
        raise ValueError(f"{path}: the header describes {pos} bytes of tensor data, the file has {len(body)}")
    return _to_float32(path, tensors), {str(k): str(v) for k, v in meta.items()}


def _json_string(s):
    # Go's encoding/json without HTML escaping: like Python's ensure_ascii=False
    # except that U+2028 and U+2029 are escaped.
    return json.dumps(s, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def save_file(path, tensors, meta=None, dtype="F32"):
    """Write tensors (name -> tensor, converted to dtype "F32", "F16" or
    "BF16") and string metadata as a safetensors file, atomically (a
    temporary file renamed over path). dtype "I8" writes rnnkit's int8 file
    (rnn.Q8): 2-D tensors of at least Q8_MIN_ELEMENTS elements as I8 with
    per-row scales (quantize_q8), the others as F16, or F32 where F16 would
    overflow. Non-finite values, values that overflow F16, and names ending
    in ":scale" are an error, as in rnnkit. The data holds the F32 tensors,
    then F16/BF16, then I8, each sorted by name, and metadata keys are
    sorted, as rnnkit writes them."""
    if dtype not in _DT and dtype != "I8":
        raise ValueError(f"dtype {dtype!r}: write F32, F16, BF16 or I8")
    out = {}
    for name in sorted(tensors):
        if name.endswith(Q8_SCALE_SUFFIX):
            raise ValueError(f"tensor name {name!r} ends in {Q8_SCALE_SUFFIX!r}, which is reserved for the scales of int8 tensors; rename it")
        t = tensors[name].detach().to("cpu", torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise ValueError(f"tensor {name!r} holds NaN or Inf; not saved")
        if dtype == "I8":
            if t.dim() == 2 and t.numel() >= Q8_MIN_ELEMENTS:
                out[name], out[name + Q8_SCALE_SUFFIX] = quantize_q8(t, name)
                continue
            c = t.half()
            out[name] = c if torch.isfinite(c).all() else t
            continue
        c = t.to(_DT[dtype])
        if not torch.isfinite(c).all():
            raise ValueError(f"tensor {name!r} overflows {dtype} (largest finite F16 is 65504); save as F32")
        out[name] = c
    meta = {str(k): str(v) for k, v in (meta or {}).items()}
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=d)
    os.close(fd)
    try:
        if _have_safetensors():
            from safetensors.torch import save_file as st_save
            st_save(out, tmp, metadata=meta or None)
        else:
            _write_pure(tmp, out, meta)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_pure(path, tensors, meta):
    parts, blobs, off = [], [], 0
    if meta:
        parts.append('"__metadata__":{' + ",".join(_json_string(k) + ":" + _json_string(meta[k]) for k in sorted(meta)) + "}")
    # Wider elements first, then by name (as rnnkit and the safetensors
    # library order them); one dtype is sorted by name.
    for name in sorted(tensors, key=lambda n: (-tensors[n].element_size(), n)):
        t = tensors[name]
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        b = raw.numpy().tobytes()
        shape = ",".join(str(d) for d in t.shape)
        parts.append(f'{_json_string(name)}:{{"dtype":"{_DT_NAME[t.dtype]}","shape":[{shape}],"data_offsets":[{off},{off + len(b)}]}}')
        blobs.append(b)
        off += len(b)
    h = ("{" + ",".join(parts) + "}").encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())


def metadata(kind, config=None, tokenizers=None, extra=None):
    """The metadata of an rnnkit model file: format_version, kind, config
    (a dict, written as compact JSON), tokenizers (name -> tokenizer.json
    text; "" is the unnamed one, stored as "tokenizer", others as
    "tokenizer.<name>") and other string entries."""
    m = {"format_version": str(FORMAT_VERSION), "kind": kind}
    if config is not None:
        m["config"] = config if isinstance(config, str) else _go_json(config)
    for name, text in (tokenizers or {}).items():
        m["tokenizer" if name == "" else "tokenizer." + name] = text
    for k, v in (extra or {}).items():
        if k in RESERVED or k.startswith("tokenizer."):
            raise ValueError(f"metadata key {k!r} is reserved")
        m[k] = str(v)
    return m


def _go_json(obj):
    """Compact JSON as Go's json.Marshal writes it (dict order kept)."""
    def enc(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return _go_float32(v)
        if isinstance(v, str):
            return _json_string(v).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(enc(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ",".join(enc(str(k)) + ":" + enc(x) for k, x in v.items()) + "}"
        if v is None:
            return "null"
        raise TypeError(f"cannot write {type(v)} in a config")
    return enc(obj)


def _go_float32(x):
    """A float32 config value as Go's json.Marshal writes it: the shortest
    decimal that reads back as the same float32, %f-style for 1e-6 <= |x| <
    1e21, else %e-style with a short exponent ("1e-7")."""
    import numpy as np
    f = np.float32(x)
    if not np.isfinite(f):
        raise ValueError(f"config value {x} is not finite")
    a = abs(float(f))
    if a != 0 and (a < 1e-6 or a >= 1e21):
        return np.format_float_scientific(f, unique=True, trim="-", exp_digits=1)
    return np.format_float_positional(f, unique=True, trim="-")


def read_model(path, kind=None):
    """Read an rnnkit model file: (tensors, info), where info has "kind",
    "config" (dict), "tokenizers" (name -> tokenizer.json text) and "meta"
    (the other metadata). Checks the format version and, when given, the
    kind, with rnnkit's messages."""
    tensors, meta = load_file(path)
    if "format_version" not in meta:
        raise ValueError(f"model file {path}: not an rnnkit model (its metadata has no \"format_version\")")
    v = meta["format_version"]
    if not v.isdigit() or int(v) < 1:
        raise ValueError(f"model file {path}: format version {v!r} is not a positive integer")
    if int(v) > FORMAT_VERSION:
        raise ValueError(f"model file {path}: format version {v} is newer than this reader ({FORMAT_VERSION})")
    k = meta.get("kind", "")
    if not k:
        raise ValueError(f"model file {path}: not an rnnkit model (its metadata has no \"kind\")")
    if kind and k != kind:
        raise ValueError(f"model file {path}: this is a {k!r} model, but a {kind!r} model is needed")
    info = {"kind": k, "config": json.loads(meta["config"]) if "config" in meta else None,
            "tokenizers": {}, "meta": {}}
    for key, val in meta.items():
        if key in ("format_version", "kind", "config"):
            continue
        if key == "tokenizer":
            info["tokenizers"][""] = val
        elif key.startswith("tokenizer.") and len(key) > len("tokenizer."):
            info["tokenizers"][key[len("tokenizer."):]] = val
        else:
            info["meta"][key] = val
    return tensors, info


# ---------------------------------------------------------------------------
# Text helpers with Go's (unicode package) character classes

_GO_SPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


def _is_space(c):
    """Go's unicode.IsSpace (the White_Space property)."""
    return c in _GO_SPACE


def _is_punct_go(c):
    """Go's unicode.IsPunct: Unicode category P."""
    return unicodedata.category(c)[0] == "P"


def _is_bert_punct(c):
    """HF's is_bert_punc (rnnkit's isPunct): ASCII punctuation or category P."""
    o = ord(c)
    if o < 0x80:
        return 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126
    return _is_punct_go(c)


def _is_letter_or_digit(c):
    cat = unicodedata.category(c)
    return cat[0] == "L" or cat == "Nd"


def _lower(s):
    """Go's per-rune unicode.ToLower (simple case mapping; no final sigma).
    One character maps to one character, so offsets are unchanged."""
    if s.isascii():
        return s.lower()
    out = []
    for c in s:
        lc = c.lower()
        if len(lc) != 1:
            lc = "i" if c == "\u0130" else c
        out.append(lc)
    return "".join(out)


def _fields(s):
    """Go's strings.Fields."""
    out, cur = [], []
    for c in s:
        if _is_space(c):
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        out.append("".join(cur))
    return out


def _trim_space(s):
    a, b = 0, len(s)
    while a < b and _is_space(s[a]):
        a += 1
    while b > a and _is_space(s[b - 1]):
        b -= 1
    return s[a:b]


def sanitize(text):
    """Text as rnnkit's tokenizers see it: bytes are decoded as UTF-8 with
    invalid sequences replaced by U+FFFD (Go replaces each maximal run of
    invalid bytes by one U+FFFD; Python's "replace" may give several)."""
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    return text


def _segments(text):
    """Split text around literal special tokens ("<pad>", "<unk>", "<s>",
    "</s>"), left to right: yields (segment, offset, special_id or None)."""
    start, i, n = 0, 0, len(text)
    while True:
        i = text.find("<", i)
        if i < 0:
            break
        for sid, s in enumerate(SPECIALS):
            if text.startswith(s, i):
                if i > start:
                    yield text[start:i], start, None
                yield s, i, sid
                i += len(s)
                start = i
                break
        else:
            i += 1
    if start < n:
        yield text[start:], start, None


# ---------------------------------------------------------------------------
# Tokenizers

class _Vocab:
    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.ids = {}
        for i, t in enumerate(self.tokens):
            self.ids.setdefault(t, i)
        for i, s in enumerate(SPECIALS):
            if i >= len(self.tokens) or self.tokens[i] != s:
                raise ValueError(f"special token {s!r} is not at id {i}")

    @property
    def vocab_size(self):
        return len(self.tokens)

    def token(self, i):
        return self.tokens[i] if 0 <= i < len(self.tokens) else ""

    def id(self, tok):
        return self.ids.get(tok)

    def encode(self, text):
        return self.encode_offsets(text)[0]

    def byte_offsets(self, text, offsets):
        """Convert character offsets into text to UTF-8 byte offsets (rnnkit's)."""
        pos = [0]
        for c in text:
            pos.append(pos[-1] + len(c.encode("utf-8")))
        return [(pos[a], pos[b]) for a, b in offsets]


def _added_tokens_json():
    return "[" + ",".join(
        f'{{"id":{i},"content":{_json_string(s)},"single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}}'
        for i, s in enumerate(SPECIALS)) + "]"


def _vocab_json(tokens):
    return "{" + ",".join(f"{_json_string(t)}:{i}" for i, t in enumerate(tokens)) + "}"


def _file_json(normalizer="null", pre="null", decoder="null", model="null"):
    # Go's hfFile, fields in its order, json.Encoder's trailing newline
    return ('{"version":"1.0","truncation":null,"padding":null,"added_tokens":' + _added_tokens_json() +
            ',"normalizer":' + normalizer + ',"pre_tokenizer":' + pre + ',"post_processor":null,"decoder":' +
            decoder + ',"model":' + model + "}\n")


def _normalizer_json(nfc, lower):
    ns = (['{"type":"NFC"}'] if nfc else []) + (['{"type":"Lowercase"}'] if lower else [])
    if not ns:
        return "null"
    if len(ns) == 1:
        return ns[0]
    return '{"type":"Sequence","normalizers":[' + ",".join(ns) + "]}"


_METASPACE_JSON = '{"add_prefix_space":true,"prepend_scheme":"always","replacement":"\u2581","split":true,"type":"Metaspace"}'


class RuneTokenizer(_Vocab):
    """One token per code point: specials, then the alphabet in code point
    order (tokenizer.json: a BPE model without merges, no pre-tokenizer, the
    Fuse decoder). A character outside the vocabulary encodes as <unk>."""
    kind = "rune"

    def __init__(self, tokens, json_text=None):
        super().__init__(tokens)
        for t in self.tokens[len(SPECIALS):]:
            if len(t) != 1:
                raise ValueError(f"rune tokenizer: token {t!r} is not one character")
        self.json_text = json_text

    @classmethod
    def from_text(cls, text, min_freq=0):
        """rnnkit tokenizer train --type rune: every character of text."""
        counts = {}
        for c in sanitize(text):
            counts[c] = counts.get(c, 0) + 1
        chars = sorted(c for c, n in counts.items() if n >= min_freq)
        return cls(list(SPECIALS) + [c for c in chars if c not in SPECIALS])

    def encode_offsets(self, text):
        text = sanitize(text)
        ids, offs = [], []
        for seg, off, sid in _segments(text):
            if sid is not None:
                ids.append(sid)
                offs.append((off, off + len(seg)))
                continue
            for i, c in enumerate(seg):
                ids.append(self.ids.get(c, UNK) if c not in SPECIALS else UNK)
                offs.append((off + i, off + i + 1))
        return ids, offs

    def decode(self, ids):
        return "".join(self.token(i) for i in ids if i not in (PAD, BOS, EOS))

    def to_json(self):
        return _file_json(decoder='{"type":"Fuse"}',
                          model='{"type":"BPE","unk_token":"<unk>","fuse_unk":false,"byte_fallback":false,"vocab":' +
                          _vocab_json(self.tokens) + ',"merges":[]}')


def _nfc_aligned(s):
    """NFC of s with a map from each character of the result to the range
    of s it came from (approximating Go's norm.Iter segments)."""
    if unicodedata.is_normalized("NFC", s):
        return s, None
    segs, cur = [], ""
    for c in s:
        if cur and unicodedata.combining(c) == 0 and \
                unicodedata.normalize("NFC", cur + c) == unicodedata.normalize("NFC", cur) + unicodedata.normalize("NFC", c):
            segs.append(cur)
            cur = c
        else:
            cur += c
    if cur:
        segs.append(cur)
    out, amap, pos = [], [], 0
    for seg in segs:
        n = unicodedata.normalize("NFC", seg)
        out.append(n)
        amap.extend([(pos, pos + len(seg))] * len(n))
        pos += len(seg)
    return "".join(out), amap


class WordTokenizer(_Vocab):
    """Word-level: optional NFC and lowercasing, split on Unicode whitespace
    and (split_punct) around every punctuation character (HF's
    BertPreTokenizer; else WhitespaceSplit); each piece is looked up whole,
    <unk> when absent."""
    kind = "word"

    def __init__(self, tokens, lowercase=False, nfc=False, split_punct=True, json_text=None):
        super().__init__(tokens)
        self.lowercase, self.nfc, self.split_punct = lowercase, nfc, split_punct
        self.json_text = json_text

    @classmethod
    def train(cls, lines, lowercase=False, nfc=False, split_punct=True, min_freq=0, max_vocab=0):
        """rnnkit's TrainWord: count the words, keep them by count descending
        then string ascending."""
        t = cls(list(SPECIALS), lowercase, nfc, split_punct)
        counts = {}
        for line in lines:
            for w, _, _ in t._words(sanitize(line)):
                counts[w] = counts.get(w, 0) + 1
        toks = list(SPECIALS)
        for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].encode("utf-8"))):
            if max_vocab > 0 and len(toks) >= max_vocab:
                break
            if n < max(min_freq, 1):
                break
            if w not in SPECIALS:
                toks.append(w)
        return cls(toks, lowercase, nfc, split_punct)

    def _words(self, text):
        s, amap = (_nfc_aligned(text) if self.nfc else (text, None))
        if self.lowercase:
            s = _lower(s)

        def orig(a, b):
            if amap is None:
                return a, b
            if a >= len(s):
                return len(text), len(text)
            return amap[a][0], amap[b - 1][1]
        out, start = [], -1
        for i, c in enumerate(s):
            if _is_space(c):
                if start >= 0:
                    out.append((s[start:i],) + orig(start, i))
                    start = -1
            elif self.split_punct and _is_bert_punct(c):
                if start >= 0:
                    out.append((s[start:i],) + orig(start, i))
                    start = -1
                out.append((c,) + orig(i, i + 1))
            elif start < 0:
                start = i
        if start >= 0:
            out.append((s[start:],) + orig(start, len(s)))
        return out

    def encode_offsets(self, text):
        text = sanitize(text)
        ids, offs = [], []
        for seg, off, sid in _segments(text):
            if sid is not None:
                ids.append(sid)
                offs.append((off, off + len(seg)))
                continue
            for w, a, b in self._words(seg):
                ids.append(self.ids.get(w, UNK))
                offs.append((off + a, off + b))
        return ids, offs

    _NO_SPACE_BEFORE = set([".", ",", ";", ":", "!", "?", ")", "]", "}", "»", "…", "%", "”", "’"])
    _NO_SPACE_AFTER = set(["¿", "¡", "(", "[", "{", "«", "“", "‘"])
    _CONTRACTIONS = set(["s", "t", "m", "d", "re", "ve", "ll"])

    def decode(self, ids):
        toks = [self.token(i) for i in ids if i not in (PAD, BOS, EOS)]

        def ends_letter(s):
            return bool(s) and _is_letter_or_digit(s[-1])

        def starts_letter(s):
            return bool(s) and _is_letter_or_digit(s[0])
        out, quote_open, glue = [], False, False
        for i, tok in enumerate(toks):
            space = i > 0 and not glue
            glue = False
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            if tok in self._NO_SPACE_BEFORE:
                space = False
            elif tok in self._NO_SPACE_AFTER:
                glue = True
            elif tok == '"':
                if quote_open:
                    space = False
                else:
                    glue = True
                quote_open = not quote_open
            elif tok in ("'", "’") and i > 0 and ends_letter(toks[i - 1]) and _lower(nxt) in self._CONTRACTIONS:
                space, glue = False, True
            elif tok == "-" and i > 0 and ends_letter(toks[i - 1]) and starts_letter(nxt):
                space, glue = False, True
            if space:
                out.append(" ")
            out.append(tok)
        return "".join(out)

    def to_json(self):
        pre = '{"type":"BertPreTokenizer"}' if self.split_punct else '{"type":"WhitespaceSplit"}'
        return _file_json(normalizer=_normalizer_json(self.nfc, self.lowercase), pre=pre,
                          model='{"type":"WordLevel","vocab":' + _vocab_json(self.tokens) + ',"unk_token":"<unk>"}')


_META = "\u2581"  # "▁"
_OPEN_MARK_PATTERN = "[ \\t\\n\\f\\r]*[¡¿]"  # rnnkit's openMarkPattern (tokenize/bpe.go)
_OPEN_SPLIT_JSON = '{"behavior":"Isolated","invert":false,"pattern":{"Regex":' + json.dumps(_OPEN_MARK_PATTERN, ensure_ascii=False) + '},"type":"Split"}'
_META_WS = set(" \t\n\f\r")  # the ASCII whitespace that Metaspace replaces (Go regexp \s)


class BPETokenizer(_Vocab):
    """BPE over Metaspace pre-tokens: ASCII whitespace becomes "▁", a "▁" is
    prepended and the text split before every "▁"; with split_punct each
    piece is split further into runs of non-punctuation and single
    punctuation characters (HF's Sequence[Metaspace, Punctuation
    "Isolated"]). Merges are applied by rank exactly as rnnkit (and
    sugarme) apply them, ties between equal ranks included. Optional
    lowercasing first."""
    kind = "bpe"

    def __init__(self, tokens, merges, lowercase=False, split_punct=False, json_text=None, open_marks=False):
        super().__init__(tokens)
        if open_marks and not split_punct:
            raise ValueError("open_marks needs split_punct")
        self.lowercase, self.split_punct, self.open_marks = lowercase, split_punct, open_marks
        self.json_text = json_text
        self.merges = [(int(a), int(b)) for a, b in merges]
        self.rank = {}
        for r, (a, b) in enumerate(self.merges):
            j = self.ids.get(self.tokens[a] + self.tokens[b])
            if j is None:
                raise ValueError(f"merge {r}: {self.tokens[a] + self.tokens[b]!r} is not in the vocab")
            self.rank.setdefault((a, b), (r, j))
        self._cache = {}

    def _piece(self, word):
        p = self._cache.get(word)
        if p is None:
            p = self._merge_word(word)
            if len(self._cache) < 1 << 18:
                self._cache[word] = p
        return p

    def _merge_word(self, word):
        # rnnkit's mergeWord (sugarme's Word.MergeAll): symbols in a linked
        # list, merges from a binary heap ordered by rank alone.
        syms = [[self.ids.get(c, UNK) if c not in SPECIALS else UNK, i - 1, i + 1, 1] for i, c in enumerate(word)]
        if syms:
            syms[-1][2] = -1
        heap = []

        def push(m):
            heap.append(m)
            i = len(heap) - 1
            while i > 0:
                p = (i - 1) >> 1
                if heap[p][1] <= heap[i][1]:
                    break
                heap[p], heap[i] = heap[i], heap[p]
                i = p

        def pop():
            top = heap[0]
            last = len(heap) - 1
            heap[0], heap[last] = heap[last], heap[0]
            heap.pop()
            i = 0
            while True:
                l = 2 * i + 1
                if l >= len(heap):
                    break
                s = l
                r = l + 1
                if r < len(heap) and heap[l][1] > heap[r][1]:
                    s = r
                if heap[i][1] > heap[s][1]:
                    heap[i], heap[s] = heap[s], heap[i]
                    i = s
                else:
                    break
            return top
        rank = self.rank
        for i in range(len(syms) - 1):
            m = rank.get((syms[i][0], syms[i + 1][0]))
            if m:
                push((i, m[0], m[1]))
        while heap:
            pos, _, mid = pop()
            cur = syms[pos]
            if cur[3] == 0 or cur[2] == -1:
                continue
            nxt = cur[2]
            right = list(syms[nxt])
            m = rank.get((cur[0], right[0]))
            if not m or m[1] != mid:
                continue
            cur[0] = mid
            cur[3] += right[3]
            cur[2] = right[2]
            syms[nxt][3] = 0
            if right[2] > -1 and right[2] < len(syms):
                syms[right[2]][1] = pos
            if cur[1] >= 0:
                m = rank.get((syms[cur[1]][0], cur[0]))
                if m:
                    push((cur[1], m[0], m[1]))
            if cur[2] > -1 and cur[2] < len(syms):
                m = rank.get((cur[0], syms[cur[2]][0]))
                if m:
                    push((pos, m[0], m[1]))
        return [(s[0], s[3]) for s in syms if s[3] != 0]

    @staticmethod
    def _metaspace_pieces(s):
        """rnnkit's forPieces: (key, start, w0), key = "▁" + the text up to the
        next boundary, w0 the width in s of the piece's own "▁" (0 when
        prepended)."""
        if not s:
            return []
        out = []
        bounds = [i for i, c in enumerate(s) if c in _META_WS or c == _META]
        start = 0
        w0 = 1 if bounds and bounds[0] == 0 else 0
        for i in bounds:
            if i == 0:
                continue
            out.append((_META + s[start + w0:i], start, w0))
            start, w0 = i, 1
        out.append((_META + s[start + w0:], start, w0))
        return out

    def _pretokens(self, s):
        """(key, origin, at, meta): key's character k maps to s[origin+k-1]
        (k >= 1) when meta, with its "▁" at position at; else to s[origin+k].
        With open_marks, s is first cut before and after each ¡ and ¿ (with
        the ASCII whitespace before it), HF's Split of _OPEN_MARK_PATTERN
        "Isolated" ahead of the Metaspace: the word after one starts with "▁"."""
        if not self.open_marks:
            yield from self._punct_pretokens(s)
            return
        base = 0
        for i, c in enumerate(s):
            if c not in "¡¿":
                continue
            j = i
            while j > base and s[j - 1] in _META_WS:
                j -= 1
            for a, b in ((base, j), (j, i + 1)):
                if b > a:
                    for key, origin, at, meta in self._punct_pretokens(s[a:b]):
                        yield key, origin + a, at + a, meta
            base = i + 1
        if base < len(s):
            for key, origin, at, meta in self._punct_pretokens(s[base:]):
                yield key, origin + base, at + base, meta

    def _punct_pretokens(self, s):
        for key, start, w0 in self._metaspace_pieces(s):
            origin = start + w0
            if not self.split_punct:
                yield key, origin, start, True
                continue
            a, k = 0, 1
            while k < len(key):
                if not _is_bert_punct(key[k]):
                    k += 1
                    continue
                if k > a:
                    yield self._run(key, a, k, origin, start)
                yield self._run(key, k, k + 1, origin, start)
                k += 1
                a = k
            if k > a:
                yield self._run(key, a, k, origin, start)

    @staticmethod
    def _run(key, a, b, origin, at):
        if a == 0:
            return key[:b], origin, at, True
        return key[a:b], origin + a - 1, at, False

    def encode_offsets(self, text):
        text = sanitize(text)
        ids, offs = [], []
        for seg, off, sid in _segments(text):
            if sid is not None:
                ids.append(sid)
                offs.append((off, off + len(seg)))
                continue
            if self.lowercase:
                seg = _lower(seg)
            for key, origin, at, meta in self._pretokens(seg):
                def pos(k):
                    if not meta:
                        return origin + k
                    return at if k < 1 else origin + k - 1
                k = 0
                for i, n in self._piece(key):
                    ids.append(i)
                    offs.append((off + pos(k), off + pos(k + n)))
                    k += n
        return ids, offs

    def decode(self, ids):
        """rnnkit's BPE.Decode: "▁" becomes a space, the first is dropped and,
        with open_marks, so is the one encoding put after ¡ and ¿ ("¡Hola!"
        decodes as itself; HF's Metaspace decoder gives "¡ Hola!")."""
        out, first, after_mark = [], True, False
        for i in ids:
            if i in (PAD, BOS, EOS):
                continue
            tok = self.token(i)
            if (first or (self.open_marks and after_mark)) and tok.startswith(_META):
                tok = tok[1:]
            first = False
            if self.open_marks and tok:
                after_mark = tok[-1] in "¡¿"
            out.append(tok.replace(_META, " "))
        return "".join(out)

    def to_json(self):
        pre = _METASPACE_JSON
        if self.open_marks:
            pre = '{"pretokenizers":[' + _OPEN_SPLIT_JSON + "," + _METASPACE_JSON + \
                ',{"behavior":"Isolated","type":"Punctuation"}],"type":"Sequence"}'
        elif self.split_punct:
            pre = '{"pretokenizers":[' + _METASPACE_JSON + ',{"behavior":"Isolated","type":"Punctuation"}],"type":"Sequence"}'
        merges = "[" + ",".join(_json_string(self.tokens[a] + " " + self.tokens[b]) for a, b in self.merges) + "]"
        return _file_json(normalizer=_normalizer_json(False, self.lowercase), pre=pre, decoder=_METASPACE_JSON,
                          model='{"type":"BPE","unk_token":"<unk>","fuse_unk":false,"byte_fallback":false,"vocab":' +
                          _vocab_json(self.tokens) + ',"merges":' + merges + "}")


class GenericTokenizer:
    """Any other tokenizer.json, through the `tokenizers` package. rnnkit
    runs such files through sugarme, which may split differently."""
    kind = "generic"

    def __init__(self, json_text):
        from tokenizers import Tokenizer
        self.tk = Tokenizer.from_str(json_text)
        self.json_text = json_text
        self.vocab_size = self.tk.get_vocab_size(with_added_tokens=True)

    def encode_offsets(self, text):
        e = self.tk.encode(sanitize(text), add_special_tokens=False)
        return list(e.ids), [tuple(o) for o in e.offsets]

    def encode(self, text):
        return self.encode_offsets(text)[0]

    def decode(self, ids):
        return self.tk.decode(list(ids), skip_special_tokens=True)

    def token(self, i):
        return self.tk.id_to_token(i) or ""

    def id(self, tok):
        return self.tk.token_to_id(tok)

    def to_json(self):
        return self.json_text


def _component(c):
    return c if isinstance(c, dict) else None


def _our_metaspace(c):
    if not c or c.get("type") != "Metaspace" or c.get("replacement") != _META or c.get("split") is False:
        return False
    if c.get("prepend_scheme") is not None:
        return str(c["prepend_scheme"]).lower() == "always"
    return c.get("add_prefix_space") is True


def load_tokenizer(text):
    """Load tokenizer.json text (as in the model file's metadata) into the
    RuneTokenizer, WordTokenizer or BPETokenizer that rnnkit would use for
    it; another layout needs the `tokenizers` package (GenericTokenizer)."""
    f = json.loads(text)
    try:
        return _load_native(f, text)
    except (_NotOurs, ValueError) as e:
        try:
            return GenericTokenizer(text)
        except ImportError:
            raise ValueError(f"tokenizer.json is not one of rnnkit's layouts ({e}) and the tokenizers package is not installed") from None


class _NotOurs(Exception):
    pass


def _load_native(f, text):
    m = f.get("model") or {}
    if m.get("unk_token") != "<unk>" or m.get("continuing_subword_prefix") is not None or \
            m.get("end_of_word_suffix") is not None or m.get("byte_fallback") or m.get("fuse_unk") or m.get("dropout"):
        raise _NotOurs("model options")
    vocab = m.get("vocab")
    if not isinstance(vocab, dict):
        raise _NotOurs("vocab")
    toks = [None] * len(vocab)
    for t, i in vocab.items():
        if not isinstance(i, int) or not 0 <= i < len(vocab) or toks[i] is not None:
            raise _NotOurs("vocab ids")
        toks[i] = t
    if toks[:4] != list(SPECIALS):
        raise _NotOurs("specials")
    norm = _component(f.get("normalizer"))
    nfc = lower = False
    if norm is not None:
        ns = norm.get("normalizers") if norm.get("type") == "Sequence" else [norm]
        kinds = [n.get("type") for n in ns or []]
        if kinds == ["NFC"]:
            nfc = True
        elif kinds == ["Lowercase"]:
            lower = True
        elif kinds == ["NFC", "Lowercase"]:
            nfc = lower = True
        else:
            raise _NotOurs("normalizer")
    pre = _component(f.get("pre_tokenizer"))
    dec = _component(f.get("decoder"))
    if m.get("type") == "WordLevel":
        if not pre or pre.get("type") not in ("BertPreTokenizer", "WhitespaceSplit"):
            raise _NotOurs("pre-tokenizer")
        return WordTokenizer(toks, lower, nfc, pre["type"] == "BertPreTokenizer", json_text=text)
    if m.get("type") != "BPE":
        raise _NotOurs("model type")
    merges = m.get("merges") or []
    if not merges and pre is None and norm is None and dec is not None and dec.get("type") == "Fuse":
        return RuneTokenizer(toks, json_text=text)
    punct = opened = False
    ps = pre.get("pretokenizers") if pre and pre.get("type") == "Sequence" else None
    if ps and len(ps) == 3 and ps[0].get("type") == "Split" and ps[0].get("behavior") == "Isolated" and \
            not ps[0].get("invert") and ps[0].get("pattern") == {"Regex": _OPEN_MARK_PATTERN}:
        pre, opened = dict(pre, pretokenizers=ps[1:]), True
    if pre and pre.get("type") == "Sequence" and len(pre.get("pretokenizers") or []) == 2 and \
            pre["pretokenizers"][1].get("type") == "Punctuation" and pre["pretokenizers"][1].get("behavior") == "Isolated":
        pre, punct = pre["pretokenizers"][0], True
    if not _our_metaspace(pre) or not _our_metaspace(dec) or nfc or (opened and not punct):
        raise _NotOurs("pre-tokenizer or decoder")
    pairs = []
    for mg in merges:
        if isinstance(mg, str):
            a, sep, b = mg.partition(" ")
            if not sep or " " in b:
                raise _NotOurs("merge")
        else:
            a, b = mg
        if a not in vocab or b not in vocab:
            raise _NotOurs("merge")
        pairs.append((vocab[a], vocab[b]))
    return BPETokenizer(toks, pairs, lower, punct, json_text=text, open_marks=opened)


def _tok_json(tok):
    return tok.json_text if getattr(tok, "json_text", None) else tok.to_json()


# ---------------------------------------------------------------------------
# Configs: parsed as rnnkit's Go structs are (absent keys take the zero
# value or the documented default; unknown keys are errors), written in
# Go's field order with canonical names.

_CELL_ALIASES = {"rnn_tanh": "rnn_tanh", "tanh": "rnn_tanh", "rnn": "rnn_tanh", "rnn_relu": "rnn_relu",
                 "relu": "rnn_relu", "lstm": "lstm", "gru": "gru"}
_ATTN_ALIASES = {"additive": "additive", "bahdanau": "additive", "concat": "additive", "dot": "dot",
                 "general": "general", "luong": "general", "bilinear": "general"}
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}

CHARRNN_FIELDS = {"cell": "rnn_tanh", "vocab": 0, "embedding": 0, "hidden": 0, "layers": 0, "dropout": 0.0,
                  "emb_dropout": 0.0, "weight_drop": 0.0}
# Keys that Go writes with omitempty: left out when zero (or None).
_OMITEMPTY = {"weight_drop", "ngram"}
SENTIMENT_FIELDS = {"cell": "rnn_tanh", "vocab": 0, "embedding": 0, "hidden": 0, "layers": 1, "bidirectional": False,
                    "pooling": "max", "dropout": 0.0, "emb_dropout": 0.0, "labels": None, "max_len": 400,
                    "truncate": "head+tail", "ngram": None}
SEQ2SEQ_FIELDS = {"cell": "rnn_tanh", "src_vocab": 0, "tgt_vocab": 0, "embedding": 0, "enc_hidden": 0,
                  "enc_layers": 1, "dec_hidden": 0, "dec_layers": 1, "attention": "additive", "attn_hidden": 0,
                  "input_feeding": False, "tie_embeddings": False, "dropout": 0.0}


def _parse_config(kind, fields, cfg):
    if cfg is None:
        raise ValueError(f"{kind}: the model file has no config")
    out = dict(fields)
    for k, v in cfg.items():
        if k not in fields:
            raise ValueError(f"{kind} config: unknown key {k!r}; {kind} configs have the keys {', '.join(fields)}")
        if v is None:
            raise ValueError(f"{kind} config: {k!r} is null")
        out[k] = v
    if isinstance(out["cell"], str):
        c = _CELL_ALIASES.get(out["cell"].strip().lower())
        if c is None:
            raise ValueError(f"{kind} config: unknown cell {out['cell']!r}")
        out["cell"] = c
    if "attention" in out:
        a = _ATTN_ALIASES.get(str(out["attention"]).strip().lower())
        if a is None:
            raise ValueError(f"{kind} config: unknown attention {out['attention']!r}")
        out["attention"] = a
    return out, set(cfg)


def _check_range(kind, name, v, lo=0.0, hi=1.0):
    if not lo <= v < hi:
        raise ValueError(f"{kind}: {name} {v} must be in [{lo}, {hi})")


def _make_rnn(cell, inp, hidden, layers, bidirectional=False, dropout=0.0):
    kw = dict(num_layers=layers, bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
    if cell == "lstm":
        return nn.LSTM(inp, hidden, **kw)
    if cell == "gru":
        return nn.GRU(inp, hidden, **kw)
    return nn.RNN(inp, hidden, nonlinearity="tanh" if cell == "rnn_tanh" else "relu", **kw)


def _rnn_names(prefix, layers, dirs):
    out = []
    for k in range(layers):
        for d in range(dirs):
            sfx = f"_l{k}" + ("_reverse" if d == 1 else "")
            out += [prefix + n + sfx for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return out


@contextlib.contextmanager
def _no_init():
    """Skip the random initialisation of new modules (their parameters stay
    uninitialised until a state_dict is loaded)."""
    classes = (nn.Linear, nn.Embedding, nn.RNNBase)
    saved = {c: c.reset_parameters for c in classes}
    try:
        for c in classes:
            c.reset_parameters = lambda self: None
        yield
    finally:
        for c, f in saved.items():
            c.reset_parameters = f


class _RnnkitModule(nn.Module):
    """What the three kinds share: loading, saving, parameter order."""
    kind = ""

    @classmethod
    def from_file(cls, path):
        tensors, info = read_model(path, cls.kind)
        return cls.from_tensors(tensors, info, name=path)

    @classmethod
    def from_tensors(cls, tensors, info, name="model"):
        toks = {n: load_tokenizer(t) for n, t in info["tokenizers"].items()}
        with _no_init():  # every weight is about to be overwritten
            m = cls(info["config"], **cls._tok_args(toks, name))
        m.meta = dict(info.get("meta") or {})
        params = {k: v for k, v in tensors.items() if not k.startswith(OPTIM_PREFIX)}
        missing = set(m.state_dict()) - set(params)
        extra = set(params) - set(m.state_dict())
        if missing or extra:
            raise ValueError(f"model file {name}: tensors do not match the config: missing {sorted(missing)}, "
                             f"not parameters {sorted(extra)}")
        for k, v in m.state_dict().items():
            if tuple(params[k].shape) != tuple(v.shape):
                raise ValueError(f"model file {name}: tensor {k!r} has shape {list(params[k].shape)}, "
                                 f"but the config needs {list(v.shape)}")
        m.load_state_dict(params, strict=True)
        return m.eval()

    def rnnkit_tensors(self):
        """The parameters by rnnkit name (the state_dict), float32."""
        return {k: v.detach().float() for k, v in self.state_dict().items()}

    def rnnkit_metadata(self):
        return metadata(self.kind, self.config_json(), {n: _tok_json(t) for n, t in self._tokenizers().items()},
                        self.meta)

    def save(self, path, dtype="F32"):
        """Write the model as an rnnkit model file: dtype "F32", "F16",
        "BF16" or "I8" (int8 weight matrices with per-row scales)."""
        save_file(path, self.rnnkit_tensors(), self.rnnkit_metadata(), dtype)

    def param_order(self):
        """(name, shape) of every parameter in rnnkit's registration order:
        the order of the flat buffers of checkpoints (optim.exp_avg,
        optim.run.best, ...)."""
        sd = self.state_dict()
        return [(n, tuple(sd[n].shape)) for n in self._order()]

    def config_json(self):
        """The config as rnnkit writes it: Go field order, canonical names."""
        return _go_json({k: self.config[k] for k in self._fields() if k not in _OMITEMPTY or self.config[k]})


# ---------------------------------------------------------------------------
# PCG random numbers, as Go's math/rand/v2 (for sampling parity)

_M64 = (1 << 64) - 1


class GoPCG:
    """Go's rand.New(rand.NewPCG(seed1, seed2)): Uint64 and Float64."""

    def __init__(self, seed1, seed2):
        self.hi, self.lo = seed1 & _M64, seed2 & _M64

    def uint64(self):
        state = ((self.hi << 64) | self.lo) * ((2549297995355413924 << 64) | 4865540595714422341)
        state = (state + ((6364136223846793005 << 64) | 1442695040888963407)) & ((1 << 128) - 1)
        self.hi, self.lo = state >> 64, state & _M64
        hi, lo = self.hi, self.lo
        hi ^= hi >> 32
        hi = (hi * 0xda942042e4dd58b5) & _M64
        hi ^= hi >> 48
        hi = (hi * (lo | 1)) & _M64
        return hi

    def float64(self):
        return ((self.uint64() << 11 & _M64) >> 11) / (1 << 53)


def _f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


# ---------------------------------------------------------------------------
# charrnn

DEFAULT_PRIME = "\n\n"


class CharRNN(_RnnkitModule):
    """rnnkit's character-level generator:

        embedding = nn.Embedding(vocab, embedding)   # absent when embedding == 0: one-hot input
        rnn       = nn.LSTM(embedding or vocab, hidden, layers, dropout=dropout)  # or GRU / RNN
        decoder   = nn.Linear(hidden, vocab)

    forward(ids (T, B), state) -> logits (T, B, vocab), state."""
    kind = "charrnn"

    def __init__(self, config, tokenizer):
        super().__init__()
        cfg, keys = _parse_config(self.kind, CHARRNN_FIELDS, config)
        if "vocab" not in keys or cfg["vocab"] == 0:
            cfg["vocab"] = tokenizer.vocab_size
        if cfg["vocab"] != tokenizer.vocab_size:
            raise ValueError(f"charrnn: config vocab {cfg['vocab']} does not match the tokenizer's {tokenizer.vocab_size}")
        if cfg["vocab"] < 5 or cfg["hidden"] <= 0 or cfg["layers"] <= 0 or cfg["embedding"] < 0:
            raise ValueError(f"charrnn: bad config {cfg}")
        _check_range(self.kind, "dropout", cfg["dropout"])
        _check_range(self.kind, "emb_dropout", cfg["emb_dropout"])
        _check_range(self.kind, "weight_drop", cfg["weight_drop"])  # training only: PyTorch runs without it
        self.config, self.tokenizer, self.meta = cfg, tokenizer, {}
        V, E, H = cfg["vocab"], cfg["embedding"], cfg["hidden"]
        if E > 0:
            self.embedding = nn.Embedding(V, E)
        self.rnn = _make_rnn(cfg["cell"], E or V, H, cfg["layers"], dropout=cfg["dropout"])
        self.decoder = nn.Linear(H, V)
        self.emb_drop = nn.Dropout(cfg["emb_dropout"])
        self.drop = nn.Dropout(cfg["dropout"])

    @staticmethod
    def _tok_args(toks, name):
        if "" not in toks:
            raise ValueError(f"model file {name}: no tokenizer in the metadata")
        return {"tokenizer": toks[""]}

    def _tokenizers(self):
        return {"": self.tokenizer}

    def _fields(self):
        return CHARRNN_FIELDS

    def _order(self):
        c = self.config
        return ((["embedding.weight"] if c["embedding"] > 0 else []) + _rnn_names("rnn.", c["layers"], 1) +
                ["decoder.weight", "decoder.bias"])

    def embed(self, ids):
        if self.config["embedding"] > 0:
            return self.embedding(ids)
        return F.one_hot(ids, self.config["vocab"]).to(self.decoder.weight.dtype)

    def forward(self, ids, state=None):
        x = self.emb_drop(self.embed(ids))
        out, state = self.rnn(x, state)
        return self.decoder(self.drop(out)), state

    def _encode(self, what, text, skip_unknown):
        ids, offs = self.tokenizer.encode_offsets(text)
        out = []
        for i, (a, b) in zip(ids, offs):
            if i == UNK:
                if skip_unknown:
                    continue
                raise ValueError(f"charrnn: {what} character {text[a:b]!r} at character {a}: character not in the model's vocabulary")
            out.append(i)
        return out

    @torch.no_grad()
    def start(self, seed, prime=None, no_prime=False, skip_unknown=False):
        """Warm the state as rnnkit's Model.Start: feed the prime (None or
        "" means DEFAULT_PRIME "\\n\\n", skipped when the vocabulary lacks
        its characters; no_prime starts from the zero state), then the seed;
        with nothing fed, a newline. Returns (logits (V,), state)."""
        if no_prime and prime:
            raise ValueError("charrnn: both a prime and no_prime")
        ids = []
        if not no_prime:
            if not prime or prime == DEFAULT_PRIME:
                try:
                    ids = self._encode("prime", DEFAULT_PRIME, False)
                except ValueError:
                    ids = []
            else:
                ids = self._encode("prime", prime, skip_unknown)
        s = self._encode("seed", seed, skip_unknown)
        if not s and not ids:
            nl = self.tokenizer.id("\n")
            if nl is not None:
                s = [nl]
        ids = ids + s
        if not ids:
            raise ValueError("charrnn: empty seed and no newline in the vocabulary; give a seed")
        logits, state = self(torch.tensor(ids).unsqueeze(1))
        return logits[-1, 0], state

    @torch.no_grad()
    def step(self, token, state):
        logits, state = self(torch.tensor([[token]]), state)
        return logits[0, 0], state

    @staticmethod
    def log_prob(logits, i):
        """log softmax(logits)[i] at temperature 1, as rnnkit's Generator.LogProb."""
        lg = logits.float().tolist()
        mx = max(lg)
        s = sum(math.exp(_f32(v - mx)) for v in lg)
        return _f32(lg[i] - mx) - math.log(s)

    @staticmethod
    def sample(logits, rng, temperature=0.8, top_k=0, top_p=0.0, greedy=False):
        """rnnkit's Generator.Sample: greedy is the first argmax over the
        ids after the four specials (unless there are none); else softmax at
        temperature (0 means 0.8) without the four specials, restricted by
        top_k / top_p, drawn with rng (GoPCG)."""
        if greedy:
            first = min(4, logits.shape[-1] - 1)
            return first + int(torch.argmax(logits[first:]))
        lg = logits.float().tolist()
        V = len(lg)
        temp = temperature if temperature > 0 else 0.8
        mx = max(lg)
        probs, tot = [], 0.0
        for v in lg:
            p = math.exp(_f32(v - mx) / temp)
            probs.append(_f32(p))
            tot += p
        for i in range(min(4, V)):
            tot -= probs[i]
            probs[i] = 0.0
        cands = list(range(V))
        if (0 < top_k < V) or (0 < top_p < 1):
            cands.sort(key=lambda i: (-probs[i], i))
            n = V
            if 0 < top_k < n:
                n = top_k
            if 0 < top_p < 1:
                acc = 0.0
                for i in range(n):
                    acc += probs[cands[i]] / tot
                    if acc >= top_p:
                        n = i + 1
                        break
            cands = cands[:n]
            tot = 0.0
            for c in cands:
                tot += probs[c]
        r = rng.float64() * tot
        for c in cands:
            r -= probs[c]
            if r <= 0:
                return c
        return cands[-1]

    @torch.no_grad()
    def generate(self, seed="", n=500, temperature=0.8, greedy=False, top_k=0, top_p=0.0, rng_seed=0,
                 prime=None, no_prime=False, skip_unknown=False, stop=()):
        """Generate as `rnnkit generate`: returns {"text" (without the seed),
        "chars", "mean_log_prob", "finish_reason", "stop"}. temperature 0 is
        greedy; rng_seed is --rng-seed (the same samples as rnnkit); prime
        None is the default "\\n\\n", prime "" with no_prime=True the zero
        state (the CLI's --prime '')."""
        if temperature == 0:
            greedy = True
        if any(s == "" for s in stop):
            raise ValueError("charrnn: empty stop sequence")
        logits, state = self.start(seed, prime, no_prime, skip_unknown)
        rng = GoPCG(rng_seed, 0x67656E)
        toks, lps = [], []  # generated tokens and their log-probabilities
        buf, emitted, found = "", 0, ""
        for i in range(n):
            tid = self.sample(logits, rng, temperature, top_k, top_p, greedy)
            toks.append(self.tokenizer.token(tid))
            lps.append(self.log_prob(logits, tid))
            buf += toks[-1]
            if stop:
                cut = -1
                for s in stop:
                    if buf.endswith(s) and (cut < 0 or len(buf) - len(s) < cut):
                        cut, found = len(buf) - len(s), s
                if cut >= 0:
                    end = 0
                    for k, t in enumerate(toks):
                        if end + len(t) > cut:
                            break
                        end += len(t)
                        emitted = k + 1
                    break
            emitted = len(toks)
            if i + 1 < n:
                logits, state = self.step(tid, state)
        text = "".join(toks[:emitted])
        lp = sum(lps[:emitted])
        return {"text": text, "chars": emitted, "mean_log_prob": lp / emitted if emitted else None,
                "finish_reason": "stop" if found else "length", "stop": found}


# ---------------------------------------------------------------------------
# sentiment

def clean_review(text):
    """rnnkit's sentiment.Clean: HTML line breaks become spaces."""
    if "<" not in text:
        return text
    for s in ("<br />", "<br/>", "<br>", "<BR />", "<BR>"):
        text = text.replace(s, " ")
    return text


def truncate(ids, max_len, policy):
    """rnnkit's sentiment.Truncate: head, tail or head+tail (first max_len//4
    and last max_len - max_len//4)."""
    if max_len <= 0 or len(ids) <= max_len:
        return ids
    if policy == "head":
        return ids[:max_len]
    if policy == "tail":
        return ids[len(ids) - max_len:]
    h = max_len // 4
    return ids[:h] + ids[len(ids) - (max_len - h):]


# The optional linear n-gram branch (Go: sentiment.NGramConfig, ngram.go;
# docs/FORMAT.md "The n-gram branch (sentiment)").

MAX_NGRAM = 5
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_FIB = 0x9E3779B97F4A7C15  # 2^64 / golden ratio


def _ngram_config(v):
    """The config's "ngram" value, checked as Go's NGramConfig.validate
    does, as {"n", "buckets", "weight"} (weight rounded to float32, as Go
    holds it), or None."""
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ValueError(f"sentiment config: \"ngram\" = {v!r}: an object {{\"n\", \"buckets\", \"weight\"}} is needed")
    extra = sorted(set(v) - {"n", "buckets", "weight"})
    if extra:
        raise ValueError(f"sentiment config: \"ngram\" has the unknown key {extra[0]!r}; it has the keys n, buckets, weight")
    for k in ("n", "buckets"):
        if isinstance(v.get(k, 0), bool) or not isinstance(v.get(k, 0), int):
            raise ValueError(f"sentiment config: \"ngram\" {k!r} = {v[k]!r} must be an integer")
    w = v.get("weight", 0.0)
    if isinstance(w, bool) or not isinstance(w, (int, float)):
        raise ValueError(f"sentiment config: \"ngram\" 'weight' = {w!r} must be a number")
    import numpy as np
    with np.errstate(over="ignore"):
        w = float(np.float32(w))  # Go's float32 field
    n, b = v.get("n", 0), v.get("buckets", 0)
    if not 1 <= n <= MAX_NGRAM:
        raise ValueError(f"sentiment: n-gram length {n} must be 1 to {MAX_NGRAM}")
    if not (2 <= b <= 1 << 26 and b & (b - 1) == 0):
        raise ValueError(f"sentiment: n-gram buckets {b} must be a power of two from 2 to 2^26")
    if not 0 < w < 1:
        raise ValueError(f"sentiment: n-gram weight {w} must be in (0, 1)")
    return {"n": n, "buckets": b, "weight": w}


def ngram_buckets(ids, n, buckets):
    """The distinct buckets (sorted int64 numpy array) of the 1- to n-grams
    of the token ids, as rnnkit's ngramFeatures: an n-gram's key is FNV-1a
    64 over its ids' 4 little-endian bytes each, XOR its length k << 56;
    n-grams holding <pad> (id 0) are skipped; the bucket is the top log2
    (buckets) bits of key * 0x9E3779B97F4A7C15 (mod 2^64)."""
    import numpy as np
    a = np.asarray(ids, dtype=np.int64).astype(np.uint32).astype(np.uint64)
    shift = np.uint64(64 - (buckets.bit_length() - 1))
    h = np.full(len(a), _FNV_OFFSET, dtype=np.uint64)
    alive = np.ones(len(a), dtype=bool)  # no <pad> in ids[i..i+k]
    prime, fib, ff, eight = np.uint64(_FNV_PRIME), np.uint64(_FIB), np.uint64(0xFF), np.uint64(8)
    out = []
    with np.errstate(over="ignore"):
        for k in range(min(n, len(a))):
            m = len(a) - k  # the n-grams of k+1 tokens start at 0..m-1
            h, alive = h[:m], alive[:m]
            u = a[k:k + m]
            alive = alive & (u != 0)
            for _ in range(4):
                h = (h ^ (u & ff)) * prime
                u = u >> eight
            key = h[alive] ^ np.uint64((k + 1) << 56)
            out.append((key * fib) >> shift)
    if not out:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(out)).astype(np.int64)


class _NGram(nn.Module):
    """The n-gram branch's tensors: weight (R, buckets), bias (R); R = 1 for
    two classes (the log-odds of the second), else the number of classes.
    Zero at creation, as rnnkit's New leaves them."""

    def __init__(self, rows, buckets):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(rows, buckets))
        self.bias = nn.Parameter(torch.zeros(rows))


class Sentiment(_RnnkitModule):
    """rnnkit's review classifier:

        embedding = nn.Embedding(vocab, embedding, padding_idx=0)
        rnn       = nn.LSTM(embedding, hidden, layers, bidirectional=..., dropout=dropout)  # or GRU / RNN
        attn      = nn.Linear(D*hidden, 1)                  # only with "attention" pooling
        fc        = nn.Linear(len(pools)*D*hidden, len(labels))
        ngram     = weight (R, buckets), bias (R)          # only with config["ngram"]

    The features are the poolings of the top layer's outputs over each
    review's real steps, in the order of config["pooling"]. With an n-gram
    branch, config["ngram"] = {"n", "buckets", "weight": w}, the logits are
    (1-w)*log_softmax(fc(...)) + w*log p_ngram (see mix_ngram), where the
    branch reads the whole review and the recurrent part its cut."""
    kind = "sentiment"

    def __init__(self, config, tokenizer):
        super().__init__()
        cfg, keys = _parse_config(self.kind, SENTIMENT_FIELDS, config)
        if "vocab" not in keys or cfg["vocab"] == 0:
            cfg["vocab"] = tokenizer.vocab_size
        if cfg["vocab"] != tokenizer.vocab_size:
            raise ValueError(f"sentiment: config vocab {cfg['vocab']} does not match the tokenizer's {tokenizer.vocab_size}")
        self.pools = [p.strip().lower() for p in cfg["pooling"].split("+")]
        for p in self.pools:
            if p not in ("max", "mean", "last", "attention"):
                raise ValueError(f"sentiment: unknown pooling {p!r}")
        if len(set(self.pools)) != len(self.pools):
            raise ValueError("sentiment: a pooling is given twice")
        if cfg["truncate"] not in ("head", "tail", "head+tail") or cfg["max_len"] <= 0:
            raise ValueError(f"sentiment: truncate {cfg['truncate']!r} / max_len {cfg['max_len']}")
        labels = cfg["labels"] or []
        if len(labels) < 2 or len(set(labels)) != len(labels) or "" in labels:
            raise ValueError(f"sentiment: labels {labels!r}: at least 2, distinct, non-empty")
        if cfg["vocab"] < 5 or cfg["embedding"] <= 0 or cfg["hidden"] <= 0 or cfg["layers"] <= 0:
            raise ValueError(f"sentiment: bad config {cfg}")
        _check_range(self.kind, "dropout", cfg["dropout"])
        _check_range(self.kind, "emb_dropout", cfg["emb_dropout"])
        cfg["ngram"] = _ngram_config(cfg["ngram"])
        self.config, self.tokenizer, self.meta = cfg, tokenizer, {}
        self.D = 2 if cfg["bidirectional"] else 1
        H = cfg["hidden"]
        self.embedding = nn.Embedding(cfg["vocab"], cfg["embedding"], padding_idx=PAD)
        self.rnn = _make_rnn(cfg["cell"], cfg["embedding"], H, cfg["layers"], cfg["bidirectional"], cfg["dropout"])
        if "attention" in self.pools:
            self.attn = nn.Linear(self.D * H, 1)
        self.fc = nn.Linear(len(self.pools) * self.D * H, len(labels))
        self.ngram = None
        if cfg["ngram"] is not None:
            self.ngram = _NGram(1 if len(labels) == 2 else len(labels), cfg["ngram"]["buckets"])
        self.emb_drop = nn.Dropout(cfg["emb_dropout"])
        self.drop = nn.Dropout(cfg["dropout"])

    _tok_args = staticmethod(CharRNN._tok_args)

    def _tokenizers(self):
        return {"": self.tokenizer}

    def _fields(self):
        return SENTIMENT_FIELDS

    def _order(self):
        c = self.config
        return (["embedding.weight"] + _rnn_names("rnn.", c["layers"], self.D) +
                (["attn.weight", "attn.bias"] if "attention" in self.pools else []) + ["fc.weight", "fc.bias"] +
                (["ngram.weight", "ngram.bias"] if self.ngram is not None else []))

    @property
    def labels(self):
        return list(self.config["labels"])

    def encode(self, text):
        """rnnkit's Model.Encode: Clean, tokenize, [<unk>] when empty, truncate;
        with an n-gram branch the review stays whole (forward cuts it for
        the recurrent part)."""
        ids = self.tokenizer.encode(clean_review(text))
        if not ids:
            return [UNK]
        if self.ngram is not None:
            return ids
        return truncate(ids, self.config["max_len"], self.config["truncate"])

    def forward(self, batch):
        """batch: a list of token id lists (each non-empty), as encode gives them.
        Returns logits (B, C): the recurrent part's on each review cut to
        max_len by the truncate policy, mixed with the n-gram branch's on the
        whole review when there is one."""
        c = self.config
        logits = self.rnn_logits([truncate(list(ids), c["max_len"], c["truncate"]) for ids in batch])
        return logits if self.ngram is None else self.mix_ngram(logits, batch)

    def ngram_features(self, ids):
        """The n-gram branch's features of one review's ids: its distinct buckets, sorted."""
        ng = self.config["ngram"]
        return ngram_buckets(ids, ng["n"], ng["buckets"])

    def ngram_log_probs(self, batch):
        """The n-gram branch's log-probabilities (B, C), float64, of whole
        reviews' ids: with
        s = bias + the sum of weight[:, f] over the review's buckets f,
        [log σ(-s), log σ(s)] for two classes, else log_softmax(s)."""
        w = self.ngram.weight
        s = []
        for ids in batch:
            f = torch.from_numpy(self.ngram_features(ids)).to(w.device)
            s.append(self.ngram.bias.double() + w.index_select(1, f).double().sum(1))
        s = torch.stack(s)
        if w.shape[0] == 1:
            return torch.cat([F.logsigmoid(-s), F.logsigmoid(s)], 1)
        return torch.log_softmax(s, 1)

    def mix_ngram(self, logits, batch):
        """rnnkit's mixNGram: (1-w)*log_softmax(logits) + w*log p_ngram,
        computed in float64 and rounded to float32; softmax gives the
        normalised product p_rnn^(1-w) * p_ngram^w."""
        w = self.config["ngram"]["weight"]
        lr = torch.log_softmax(logits.double(), -1)
        return ((1 - w) * lr + w * self.ngram_log_probs(batch)).float()

    def rnn_logits(self, batch):
        """The recurrent part's logits (B, C), fc of the poolings (no n-gram
        branch), of reviews already cut to max_len."""
        lens = torch.tensor([len(s) for s in batch])
        T, H = int(lens.max()), self.config["hidden"]
        ids = torch.full((T, len(batch)), PAD, dtype=torch.long)
        for b, s in enumerate(batch):
            ids[:len(s), b] = torch.tensor(s)
        x = self.emb_drop(self.embedding(ids))
        packed = nn.utils.rnn.pack_padded_sequence(x, lens, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=T)  # (T, B, D*H), zero beyond each length
        mask = (torch.arange(T).unsqueeze(1) < lens.unsqueeze(0))  # (T, B)
        feats = []
        for p in self.pools:
            if p == "max":
                feats.append(out.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(0).values)
            elif p == "mean":
                feats.append(out.sum(0) * (1.0 / lens.float()).unsqueeze(1))
            elif p == "last":
                last = out[lens - 1, torch.arange(len(batch))]  # (B, D*H)
                if self.D == 2:
                    last = torch.cat([last[:, :H], out[0, :, H:]], 1)  # backward half: its final state, at t = 0
                feats.append(last)
            else:
                s = self.attn(out).squeeze(-1).masked_fill(~mask, float("-inf"))
                a = torch.softmax(s, 0)
                feats.append((a.unsqueeze(-1) * out).sum(0))
        return self.fc(self.drop(torch.cat(feats, 1)))

    @torch.no_grad()
    def probs(self, texts, batch=64):
        """Class probabilities (N, C) of raw review texts."""
        ids = [self.encode(t) for t in texts]
        out = []
        for i in range(0, len(ids), batch):
            out.append(torch.softmax(self(ids[i:i + batch]), -1))
        return torch.cat(out) if out else torch.empty(0, len(self.labels))

    def predict(self, texts):
        """[{"label", "probability", "probs": {label: p}}] as `rnnkit classify --probs`."""
        res = []
        for p in self.probs(texts).tolist():
            best = max(range(len(p)), key=lambda c: (p[c], -c))
            res.append({"label": self.labels[best], "probability": p[best], "probs": dict(zip(self.labels, p))})
        return res


# ---------------------------------------------------------------------------
# seq2seq

class Attention(nn.Module):
    """rnnkit's rnn.Attention (keys are also the values):

        additive: score = v·tanh(query(q) + key(k))   query: Linear(Q, A, bias=False), key: Linear(K, A), v: Linear(A, 1, bias=False)
        general:  score = q·key(k)                    key: Linear(K, Q, bias=False)
        dot:      score = q·k                         (Q == K)"""

    def __init__(self, kind, query, key, hidden):
        super().__init__()
        self.kind = kind
        if kind == "additive":
            self.query = nn.Linear(query, hidden, bias=False)
            self.key = nn.Linear(key, hidden)
            self.v = nn.Linear(hidden, 1, bias=False)
        elif kind == "general":
            self.key = nn.Linear(key, query, bias=False)
        elif query != key:
            raise ValueError("dot attention needs query width == key width")

    def names(self, prefix):
        return {"additive": [prefix + n for n in ("query.weight", "key.weight", "key.bias", "v.weight")],
                "general": [prefix + "key.weight"], "dot": []}[self.kind]

    def project(self, keys):
        """The query-independent key projection (S, B, P)."""
        return keys if self.kind == "dot" else self.key(keys)

    def forward(self, q, keys, proj, mask):
        """q (B, Q), keys (S, B, K), proj (S, B, P), mask (S, B) true for real
        keys. Returns the context (B, K) and the weights (B, S)."""
        if self.kind == "additive":
            s = self.v(torch.tanh(proj + self.query(q).unsqueeze(0))).squeeze(-1)  # (S, B)
        else:
            s = (proj * q.unsqueeze(0)).sum(-1)
        w = torch.softmax(s.masked_fill(~mask, float("-inf")), 0)
        return (w.unsqueeze(-1) * keys).sum(0), w.t()


class _Sub(nn.Module):
    pass


class _Bias(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n))


class Seq2Seq(_RnnkitModule):
    """rnnkit's translator:

        encoder.embedding = nn.Embedding(src_vocab, E, padding_idx=0)
        encoder.rnn       = nn.GRU(E, He, enc_layers, bidirectional=True)        # or LSTM
        bridge            = nn.Linear(2*He, Hd)     # s0 = tanh(bridge([h_fwd; h_bwd])), top encoder layer, every decoder layer
        decoder.embedding = nn.Embedding(tgt_vocab, E, padding_idx=0)
        decoder.rnn       = nn.GRU(E (+ 2*He with input_feeding), Hd, dec_layers)
        attn              = Attention(additive | dot | general)
        out               = nn.Linear(Hd + 2*He + E, tgt_vocab)
          tied: pre_out = nn.Linear(Hd + 2*He + E, E, bias=False);
                logits = pre_out(f) @ decoder.embedding.weight.T + out.bias

    Step t: e = emb(y[t-1]) (y[-1] = <s>); h = rnn([e; ctx[t-1]] or e);
    ctx = attn(h, encoder outputs); logits = out([h; ctx; e])."""
    kind = "seq2seq"

    def __init__(self, config, src, tgt):
        super().__init__()
        cfg, keys = _parse_config(self.kind, SEQ2SEQ_FIELDS, config)
        if "src_vocab" not in keys or cfg["src_vocab"] == 0:
            cfg["src_vocab"] = src.vocab_size
        if "tgt_vocab" not in keys or cfg["tgt_vocab"] == 0:
            cfg["tgt_vocab"] = tgt.vocab_size
        if "attn_hidden" not in keys or cfg["attn_hidden"] <= 0:
            cfg["attn_hidden"] = cfg["dec_hidden"]
        if cfg["src_vocab"] != src.vocab_size or cfg["tgt_vocab"] != tgt.vocab_size:
            raise ValueError("seq2seq: config vocabularies do not match the tokenizers")
        if cfg["cell"] not in ("gru", "lstm"):
            raise ValueError(f"seq2seq: cell {cfg['cell']} is not supported; use gru or lstm")
        if min(cfg["src_vocab"], cfg["tgt_vocab"]) < 5 or min(cfg["embedding"], cfg["enc_hidden"], cfg["dec_hidden"],
                                                              cfg["enc_layers"], cfg["dec_layers"]) <= 0:
            raise ValueError(f"seq2seq: bad config {cfg}")
        if cfg["attention"] == "dot" and cfg["dec_hidden"] != 2 * cfg["enc_hidden"]:
            raise ValueError("seq2seq: dot attention needs dec_hidden = 2 x enc_hidden")
        _check_range(self.kind, "dropout", cfg["dropout"])
        self.config, self.src, self.tgt, self.meta = cfg, src, tgt, {}
        E, He, Hd = cfg["embedding"], cfg["enc_hidden"], cfg["dec_hidden"]
        self.encoder = _Sub()
        self.encoder.embedding = nn.Embedding(cfg["src_vocab"], E, padding_idx=PAD)
        self.encoder.rnn = _make_rnn(cfg["cell"], E, He, cfg["enc_layers"], True, cfg["dropout"])
        self.bridge = nn.Linear(2 * He, Hd)
        self.decoder = _Sub()
        self.decoder.embedding = nn.Embedding(cfg["tgt_vocab"], E, padding_idx=PAD)
        self.decoder.rnn = _make_rnn(cfg["cell"], E + (2 * He if cfg["input_feeding"] else 0), Hd,
                                     cfg["dec_layers"], False, cfg["dropout"])
        self.attn = Attention(cfg["attention"], Hd, 2 * He, cfg["attn_hidden"])
        Fw = Hd + 2 * He + E
        if cfg["tie_embeddings"]:
            self.pre_out = nn.Linear(Fw, E, bias=False)
            self.out = _Bias(cfg["tgt_vocab"])
        else:
            self.out = nn.Linear(Fw, cfg["tgt_vocab"])
        self.drop = nn.Dropout(cfg["dropout"])

    @staticmethod
    def _tok_args(toks, name):
        for n in ("src", "tgt"):
            if n not in toks:
                raise ValueError(f"model file {name}: no {n} tokenizer in the metadata")
        return {"src": toks["src"], "tgt": toks["tgt"]}

    def _tokenizers(self):
        return {"src": self.src, "tgt": self.tgt}

    def _fields(self):
        return SEQ2SEQ_FIELDS

    def _order(self):
        c = self.config
        return (["encoder.embedding.weight"] + _rnn_names("encoder.rnn.", c["enc_layers"], 2) +
                ["bridge.weight", "bridge.bias", "decoder.embedding.weight"] +
                _rnn_names("decoder.rnn.", c["dec_layers"], 1) + self.attn.names("attn.") +
                (["pre_out.weight", "out.bias"] if c["tie_embeddings"] else ["out.weight", "out.bias"]))

    def encode(self, srcs):
        """Run the encoder over a batch of source id lists (each non-empty):
        returns keys (S, B, 2He), proj, mask (S, B) and the decoder's initial
        state."""
        cfg = self.config
        lens = torch.tensor([len(s) for s in srcs])
        S, B = int(lens.max()), len(srcs)
        ids = torch.full((S, B), PAD, dtype=torch.long)
        for b, s in enumerate(srcs):
            ids[:len(s), b] = torch.tensor(s)
        x = self.drop(self.encoder.embedding(ids))
        packed = nn.utils.rnn.pack_padded_sequence(x, lens, enforce_sorted=False)
        out, hn = self.encoder.rnn(packed)
        keys, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=S)
        h = hn[0] if cfg["cell"] == "lstm" else hn  # (2L, B, He); an LSTM's cell state is not bridged
        s0 = torch.tanh(self.bridge(torch.cat([h[-2], h[-1]], 1)))  # top layer: forward, backward
        state = s0.unsqueeze(0).repeat(cfg["dec_layers"], 1, 1).contiguous()
        if cfg["cell"] == "lstm":
            state = (state, torch.zeros_like(state))
        mask = torch.arange(S).unsqueeze(1) < lens.unsqueeze(0)
        return keys, self.attn.project(keys), mask, state

    def step(self, y, state, ctx, keys, proj, mask):
        """One decoder step for previous tokens y (R,): returns logits (R, V),
        the new state, the context (R, 2He) and the attention weights (R, S)."""
        e = self.drop(self.decoder.embedding(y))
        x = torch.cat([e, ctx], 1) if self.config["input_feeding"] else e
        h, state = self.decoder.rnn(x.unsqueeze(0), state)
        h = h[0]
        ctx, w = self.attn(h, keys, proj, mask)
        f = self.drop(torch.cat([h, ctx, e], 1))
        if self.config["tie_embeddings"]:
            logits = self.pre_out(f) @ self.decoder.embedding.weight.t() + self.out.bias
        else:
            logits = self.out(f)
        return logits, state, ctx, w

    def forward(self, srcs, tgts):
        """Teacher-forced logits (T, B, V) for source and target id lists
        (targets without <s>/</s>; row t predicts tgts[b][t], and </s> at
        t = len). For training: cross entropy against targets + [EOS]."""
        keys, proj, mask, state = self.encode(srcs)
        B, T = len(srcs), max(len(t) for t in tgts) + 1
        y = torch.full((T, B), PAD, dtype=torch.long)
        y[0] = BOS
        for b, t in enumerate(tgts):
            if t:
                y[1:len(t) + 1, b] = torch.tensor(t)
        ctx = keys.new_zeros(B, keys.shape[2])
        out = []
        for t in range(T):
            lg, state, ctx, _ = self.step(y[t], state, ctx, keys, proj, mask)
            out.append(lg)
        return torch.stack(out)

    @torch.no_grad()
    def translate(self, texts, beam=1, length_penalty=1.0, max_len_ratio=2.0, keep_unk=False, nbest=1,
                  lexicon_penalty=0.0):
        """Translate as `rnnkit translate`: greedy (beam 1) or rnnkit's beam
        search. Returns one dict per text: {"translation", "source_tokens",
        "target_tokens", "attention", "log_prob"} (and "nbest" when nbest > 1).
        length_penalty is the exponent itself (0 = none). lexicon_penalty
        (beam only; the CLI's --lexicon-penalty, default 1 there) re-ranks the
        finished hypotheses when the model has a "target_words" lexicon."""
        out = []
        for text in texts:
            ids, offs = self.src.encode_offsets(text)
            if len(ids) > 400:
                raise ValueError(f"sentence too long ({len(ids)} tokens, at most 400)")
            if not ids:
                out.append({"translation": "", "source_tokens": None, "target_tokens": None, "attention": None,
                            "log_prob": 0})
                continue
            hyps = self._beam(ids, max(beam, nbest), length_penalty, max_len_ratio) if max(beam, nbest) > 1 \
                else [self._greedy(ids, max_len_ratio)]
            lex = self.meta.get("target_words")
            if lexicon_penalty > 0 and max(beam, nbest) > 1 and lex and len(hyps) > 1:
                lex, source = set(lex.split("\n")), set(_lex_words(text))
                for h in hyps:
                    t = self._render(text, ids, offs, h, keep_unk)["translation"]
                    h["score"] -= lexicon_penalty * sum(1 for w in _lex_words(t) if w not in lex and w not in source)
                hyps.sort(key=lambda h: -h["score"])
            r = self._render(text, ids, offs, hyps[0], keep_unk)
            if nbest > 1:
                r["nbest"] = [{"translation": self._render(text, ids, offs, h, keep_unk)["translation"],
                               "log_prob": h["log_prob"], "score": h["score"]} for h in hyps[:nbest]]
            out.append(r)
        return out

    def _greedy(self, src, ratio):
        keys, proj, mask, state = self.encode([src])
        ctx = keys.new_zeros(1, keys.shape[2])
        y = torch.tensor([BOS])
        max_len = int(ratio * len(src)) + 5
        toks, attn, lp = [], [], 0.0
        for t in range(max_len):
            logits, state, ctx, w = self.step(y, state, ctx, keys, proj, mask)
            logp = torch.log_softmax(logits, -1)[0]
            masked = logp.clone()
            masked[PAD] = masked[BOS] = float("-inf")  # never an output, as in rnnkit
            tok = int(torch.argmax(masked))
            toks.append(tok)
            lp += float(logp[tok])
            attn.append(w[0, :len(src)].tolist())
            y = torch.tensor([tok])
            if tok == EOS:
                break
        return {"toks": toks, "attn": attn, "log_prob": lp, "score": lp}

    def _beam(self, src, W, lp_pow, ratio):
        # rnnkit's beam search for one sentence (W rows).
        if lp_pow < 0:
            lp_pow = 0.0
        keys, proj, mask, state = self.encode([src])
        keys, proj, mask = keys.repeat(1, W, 1), proj.repeat(1, W, 1), mask.repeat(1, W)
        if isinstance(state, tuple):
            state = tuple(s.repeat(1, W, 1) for s in state)
        else:
            state = state.repeat(1, W, 1)
        ctx = keys.new_zeros(W, keys.shape[2])
        y = torch.full((W,), BOS, dtype=torch.long)
        score = [0.0] + [float("-inf")] * (W - 1)
        max_len = int(ratio * len(src)) + 5
        finished, parents, toks_hist, attns = [], [], [], []

        def backtrack(t, row):
            tk, at = [], []
            while t >= 0:
                tk.append(toks_hist[t][row])
                p = parents[t][row]
                at.append(attns[t][p])
                row = p
                t -= 1
            return tk[::-1], at[::-1]
        for t in range(max_len):
            logits, state, ctx, w = self.step(y, state, ctx, keys, proj, mask)
            logp = torch.log_softmax(logits, -1).tolist()
            attns.append([row[:len(src)] for row in w.tolist()])
            cands = []
            for j in range(W):
                if score[j] == float("-inf"):
                    continue
                cands.extend((score[j] + l, j, v) for v, l in enumerate(logp[j]) if v not in (PAD, BOS))
            cands.sort(key=lambda c: -c[0])  # stable: ties keep row, then token order
            top = cands[:2 * W]
            last = t + 1 >= max_len
            pr, tk, ns, n = [0] * W, [PAD] * W, [float("-inf")] * W, 0
            for i, (s, row, v) in enumerate(top):
                if v == EOS or last:
                    if i < W and len(finished) < W:
                        htk, hat = backtrack(t - 1, row)
                        htk.append(v)
                        hat.append(attns[t][row])
                        finished.append((s / math.pow(len(htk), lp_pow), {"toks": htk, "attn": hat, "log_prob": s}))
                    continue
                if n < W:
                    pr[n], tk[n], ns[n] = row, v, s
                    n += 1
            parents.append(pr)
            toks_hist.append(tk)
            score = ns
            if len(finished) >= W or last:
                break
            idx = torch.tensor(pr)
            state = tuple(s[:, idx] for s in state) if isinstance(state, tuple) else state[:, idx]
            ctx = ctx[idx]
            y = torch.tensor(tk)
        finished.sort(key=lambda f: -f[0])
        out = []
        for norm, h in finished:
            h["score"] = norm
            out.append(h)
        return out

    def _starts_word(self, i):
        s = self.tgt.token(i)
        if s.startswith(_META):
            return True
        if self.tgt.kind == "word":
            return bool(s) and _is_letter_or_digit(s[0])
        return False

    def _render(self, text, src, offs, h, keep_unk):
        toks = list(h["toks"])
        r = {"translation": "", "source_tokens": [self.src.token(i) for i in src],
             "target_tokens": [self.tgt.token(i) for i in toks], "attention": h["attn"], "log_prob": h["log_prob"]}
        if toks and toks[-1] == EOS:
            toks = toks[:-1]
        sb, seg = "", 0
        for i, tid in enumerate(toks):
            if tid != UNK or keep_unk:
                continue
            sb += self.tgt.decode(toks[seg:i])
            w = _source_word(text, offs, h["attn"][i])
            if sb and not sb.endswith(" "):
                sb += " "
            sb += w
            if i + 1 < len(toks) and self._starts_word(toks[i + 1]):
                sb += " "
            seg = i + 1
        sb += self.tgt.decode(toks[seg:])
        r["translation"] = _tidy_punct(" ".join(_fields(sb)))
        return r


def _tidy_punct(s):
    """seq2seq's tidyPunct: no comma right before a sentence mark, and an
    opening ¡ or ¿ joined to the word after it ("¡ Buena" -> "¡Buena")."""
    for mark in (".", "!", "?", "\u2026"):
        s = s.replace("," + mark, mark)
        s = s.replace(", " + mark, mark)
    return s.replace("¡ ", "¡").replace("¿ ", "¿")


def _lex_words(s):
    """seq2seq's lexWords: the runs of letters of the lowercased text."""
    out, cur = [], []
    for c in _lower(s):
        if unicodedata.category(c)[0] == "L":
            cur.append(c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def _source_word(text, offs, attn):
    """The whitespace-delimited word of text around the most attended source token."""
    if not offs:
        return ""
    best = 0
    for s in range(len(offs)):
        if s < len(attn) and attn[s] > attn[best]:
            best = s
    a, b = offs[best]
    while a > 0 and text[a - 1] not in " \t\n\r":
        a -= 1
    while b < len(text) and text[b] not in " \t\n\r":
        b += 1
    w = _trim_space(text[a:b])
    while w and _is_punct_go(w[-1]) and w[-1] != "'":
        w = w[:-1]
    return w


# ---------------------------------------------------------------------------
# Loading by kind

KINDS = {"charrnn": CharRNN, "sentiment": Sentiment, "seq2seq": Seq2Seq}


def load(path):
    """Load an rnnkit model file (or checkpoint) into the module of its kind, in eval mode."""
    tensors, info = read_model(path)
    if info["kind"] not in KINDS:
        raise ValueError(f"model file {path}: unknown kind {info['kind']!r}")
    return KINDS[info["kind"]].from_tensors(tensors, info, name=path)


# ---------------------------------------------------------------------------
# Checkpoints (rnn.SaveRun / rnn.LoadRun)

def unflatten(flat, model):
    """Split a flat checkpoint buffer (optim.exp_avg, optim.run.best, ...)
    into name -> tensor in rnnkit's parameter order."""
    out, off = {}, 0
    for name, shape in model.param_order():
        n = math.prod(shape)
        out[name] = flat[off:off + n].reshape(shape)
        off += n
    if off != flat.numel():
        raise ValueError(f"flat buffer has {flat.numel()} values, the model's parameters {off}")
    return out


def flatten(tensors, model):
    """The inverse of unflatten: one flat float32 buffer in parameter order."""
    return torch.cat([tensors[n].detach().float().reshape(-1) for n, _ in model.param_order()])


def read_checkpoint(path):
    """Read a training checkpoint (rnn.SaveRun): returns {"model" (the
    module), "optim" {"step": int, key: name -> tensor for each optimizer
    buffer such as exp_avg, exp_avg_sq}, "run" {"step", "since_best",
    "best_step", "skipped", "metrics", "rng" (hex), "best": name -> tensor
    or None, "tensors": name -> flat tensor (e.g. carry.h)}, "meta"}."""
    tensors, info = read_model(path)
    model = KINDS[info["kind"]].from_tensors(tensors, info, name=path)
    optim, run = {}, {"metrics": {}, "tensors": {}, "best": None}
    for k, v in tensors.items():
        if k == "optim.step":
            optim["step"] = int(v[0]) + (int(v[1]) << 24)
        elif k == "optim.run.best":
            run["best"] = unflatten(v, model)
        elif k.startswith("optim.run."):
            run["tensors"][k[len("optim.run."):]] = v
        elif k.startswith(OPTIM_PREFIX):
            try:
                optim[k[len(OPTIM_PREFIX):]] = unflatten(v, model)
            except ValueError:  # not a whole-model buffer (e.g. per-group state): kept flat
                optim[k[len(OPTIM_PREFIX):]] = v
    meta = {}
    for k, v in info["meta"].items():
        if k.startswith("train.metric."):
            run["metrics"][k[len("train.metric."):]] = float(v)
        elif k == "train.rng":
            run["rng"] = v
        elif k == "train.history":  # the evaluations so far, a JSON list (docs/FORMAT.md)
            run["history"] = json.loads(v)
            run["history_json"] = v  # written back as it was read
        elif k.startswith("train."):
            run[k[len("train."):]] = int(v)
        else:
            meta[k] = v
    model.meta = meta
    return {"model": model, "optim": optim, "run": run, "meta": meta}


def write_checkpoint(path, ckpt):
    """Write a checkpoint in rnn.SaveRun's layout from the structure
    read_checkpoint returns (always F32)."""
    model, optim, run = ckpt["model"], ckpt["optim"], ckpt["run"]
    ts = model.rnnkit_tensors()
    step = optim.get("step", 0)
    ts["optim.step"] = torch.tensor([float(step & ((1 << 24) - 1)), float(step >> 24)])
    for k, v in optim.items():
        if k != "step":
            ts["optim." + k] = flatten(v, model) if isinstance(v, dict) else v
    if run.get("best") is not None:
        ts["optim.run.best"] = flatten(run["best"], model)
    for k, v in run.get("tensors", {}).items():
        ts["optim.run." + k] = v
    meta = model.rnnkit_metadata()
    for k in ("step", "since_best", "best_step", "skipped"):
        meta["train." + k] = str(run.get(k, 0))
    for k, v in run.get("metrics", {}).items():
        meta["train.metric." + k] = _go_float64(v)
    if run.get("rng"):
        meta["train.rng"] = run["rng"]
    if run.get("history_json") is not None:
        meta["train.history"] = run["history_json"]
    elif run.get("history") is not None:
        meta["train.history"] = json.dumps(run["history"], separators=(",", ":"))
    save_file(path, ts, meta, "F32")


def _go_float64(x):
    """strconv.FormatFloat(x, 'g', -1, 64), as SaveRun writes metrics."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    sign = "-" if x < 0 else ""
    m, _, e = repr(abs(x)).partition("e")
    ip, _, fp = m.partition(".")
    ds = ip + fp
    dp = len(ip) + int(e or 0)
    lz = len(ds) - len(ds.lstrip("0"))
    ds, dp = ds[lz:].rstrip("0"), dp - lz
    exp = dp - 1
    if exp < -4 or exp >= 6:  # Go's %g rule for the shortest precision
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + ds
    if dp >= len(ds):
        return sign + ds + "0" * (dp - len(ds))
    return sign + ds[:dp] + "." + ds[dp:]
