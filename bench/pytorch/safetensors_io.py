"""Read and write safetensors files (rnnkit model files) with torch only.

No `safetensors` package needed: the format is an 8-byte little-endian header
length, a JSON header, and the raw little-endian tensor bytes. See
docs/FORMAT.md.

    import safetensors_io as st
    tensors, meta = st.load("charrnn.safetensors")   # name -> torch.Tensor, str -> str
    model.load_state_dict({k[len("lstm."):]: v for k, v in tensors.items()
                           if k.startswith("lstm.")})
    st.save("out.safetensors", model.state_dict(), meta)
"""

import json
import struct
import sys

import torch

__all__ = ["load", "save", "rnnkit_metadata"]

_DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}

if sys.byteorder != "little":
    raise ImportError("safetensors_io assumes a little-endian machine")


def load(path):
    """Return (tensors, metadata): a dict name -> torch.Tensor (owning its
    memory, in the file's dtype) and the string metadata dict."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n :]
    tensors = {}
    for name, e in header.items():
        dtype = _DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        if end > len(body):
            raise ValueError(f"{path}: truncated at tensor {name!r}")
        shape = tuple(e["shape"])
        if begin == end:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype).reshape(shape)
        tensors[name] = t
    return tensors, meta


def save(path, tensors, metadata=None):
    """Write a dict name -> torch.Tensor (for example a state_dict) with string
    metadata. Tensors keep their dtype; for rnnkit use float32, float16 or
    bfloat16 (convert with .float(), .half(), .bfloat16())."""
    names = sorted(tensors)
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, off = [], 0
    for name in names:
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _NAMES:
            raise ValueError(f"tensor {name!r}: unsupported dtype {t.dtype}")
        # bytes of the raw storage; bfloat16 has no numpy type, so view as int16
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        b = raw.numpy().tobytes()
        header[name] = {
            "dtype": _NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [off, off + len(b)],
        }
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rnnkit_metadata(kind, config=None, tokenizers=None, **extra):
    """Metadata for an rnnkit model file: format version 1, the model kind
    ("charrnn", "sentiment", "seq2seq"), its config (a dict, stored as JSON),
    tokenizers (name -> tokenizer.json text; name "" is the unnamed one) and
    any other string entries."""
    meta = {"format_version": "1", "kind": kind}
    if config is not None:
        meta["config"] = json.dumps(config, separators=(",", ":"))
    for name, text in (tokenizers or {}).items():
        meta["tokenizer" if name == "" else "tokenizer." + name] = text
    meta.update({k: str(v) for k, v in extra.items()})
    return meta
