"""Shared helpers for the PyTorch reference scripts of `go run ./bench`.

Each script prints one JSON line per metric on stdout:

    {"workload": "W1", "metric": "train", "value": 5650.0, "unit": "chars/s",
     "cpu_value": 2900.0, "threads": 1, "openblas_threads": 2, "torch": "1.13.0"}

value is per wall-clock second, cpu_value per CPU-second of the whole process
(user+system, all threads, from getrusage), measured over the timed steps only
(warm-up excluded).
"""

import json
import os
import resource
import time

import torch


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def setup(threads, seed):
    """PyTorch's best setting on the 2-core reference machine is one torch
    (intra-op) thread with OpenBLAS left at its own 2 threads."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)


class Timer:
    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = cpu_seconds() - self.cpu0


def quantize_int8(model, engine=None):
    """PyTorch's int8 inference: torch.ao.quantization.quantize_dynamic with
    qint8 weights over every nn.LSTM, nn.GRU and nn.Linear (weights
    quantized once, activations quantized at each call); what rnnkit's
    --quantize int8 is measured against. The engine is fbgemm where this
    torch has it; Debian's python3-torch 1.13 is built without fbgemm, and
    there the default is onednn (oneDNN's x86 int8 kernels, which became
    half of PyTorch 2.0's "x86" engine); qnnpack can be asked for."""
    engines = torch.backends.quantized.supported_engines
    if engine is None:
        engine = "fbgemm" if "fbgemm" in engines else "onednn" if "onednn" in engines else engines[0]
    torch.backends.quantized.engine = engine
    q = torch.ao.quantization.quantize_dynamic(
        model, {torch.nn.LSTM, torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8)
    return q, engine


def emit(workload, metric, work, unit, timer, threads, **extra):
    rec = {
        "workload": workload,
        "metric": metric,
        "value": work / timer.wall,
        "unit": unit,
        "cpu_value": work / timer.cpu if timer.cpu > 0 else None,
        "threads": threads,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "torch": torch.__version__,
    }
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def train_or_quantize(model, a, step, workload, metric, work, unit):
    """What W3 and W4 do before their inference timing: with --quantize int8,
    quantize the model (returning it, its engine and metric + "_int8");
    otherwise, unless --steps is 0, time a.steps training steps after
    a.warmup untimed ones and emit the training rate (work per step)."""
    engine = None
    if a.quantize == "int8":
        model.eval()
        model, engine = quantize_int8(model, a.qengine)
        metric += "_int8"
    elif a.steps > 0:  # --steps 0: inference only
        model.train()
        for _ in range(a.warmup):
            step()
        with Timer() as t:
            for _ in range(a.steps):
                loss = step()
            loss.item()
        emit(workload, "train", a.steps * work, unit, t, a.threads, steps=a.steps)
    return model, engine, metric
