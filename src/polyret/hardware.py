"""What this machine can do, measured rather than assumed: CPU model and flags, GPU, bf16 speed.

``resolve_precision("auto", device)`` picks the numeric precision for encoding or training:

- GPU: ``bf16`` when the GPU supports it, else ``fp32``.
- CPU: ``bf16`` only when the processor has native bf16 matrix instructions (``amx_bf16`` or
  ``avx512_bf16`` in ``/proc/cpuinfo``) *and* a short micro-benchmark confirms that a bf16 matrix
  product is at least :data:`BF16_MIN_SPEEDUP` times faster than fp32 on it; ``fp32`` elsewhere
  (on processors without them bf16 is emulated and far slower). The benchmark's result is cached
  per CPU model, flags, torch version and thread count, so it runs once per machine.

``precision_record`` stores the choice beside every result; on a CPU it also names the native bf16
flags and the measured speed whenever bf16 is used, and warns when bf16 is slower than fp32 there.

``machine_info()`` is what manifests, ``train_summary.json`` and results files record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

PRECISIONS = ("auto", "fp32", "bf16")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
BF16_MIN_SPEEDUP = 1.5  # bf16 must beat fp32 by this factor to be chosen on a CPU
_BENCH_SHAPE = (512, 384, 1536)  # (tokens, hidden, ffn) of a small encoder layer


def cpu_model() -> str:
    info = _cpuinfo()
    return info.get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    return set(_cpuinfo().get("flags", "").split())


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """First processor block of ``/proc/cpuinfo`` ({} where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def native_bf16_flags() -> list[str]:
    """The bf16 matrix instruction sets this CPU declares (empty: none)."""
    flags = cpu_flags()
    return [f for f in BF16_FLAGS if f in flags]


def gpu_name() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def machine_info() -> dict[str, Any]:
    """CPU model, bf16 flags, core/thread counts, GPU, torch version: recorded beside results."""
    import torch

    return {
        "cpu_model": cpu_model(),
        "cpu_bf16_flags": native_bf16_flags(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu_name(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def machine_kind(info: dict[str, Any] | None) -> tuple | None:
    """What decides bf16 arithmetic in ``machine_info()``'s record: CPU model, its bf16 flags, the GPU."""
    if not info:
        return None
    return (info.get("cpu_model"), tuple(info.get("cpu_bf16_flags") or ()), info.get("gpu"))


def matmul_gflops(dtype_name: str, seconds: float = 0.4, shape: tuple[int, int, int] = _BENCH_SHAPE) -> float:
    """Measured GFLOP/s of an (m, k) @ (k, n) product in ``fp32`` or ``bf16`` on the CPU."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    m, k, n = shape
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen).to(dtype)  # (m, k)
    b = torch.randn(k, n, generator=gen).to(dtype)  # (k, n)
    for _ in range(2):
        a @ b
    count, start = 0, time.perf_counter()
    while True:
        a @ b
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and count >= 3:
            break
    return 2.0 * m * k * n * count / elapsed / 1e9


def _bench_cache_path() -> Path:
    import torch

    from polyret.paths import cache_dir

    key = json.dumps([cpu_model(), sorted(cpu_flags()), torch.__version__, torch.get_num_threads()])
    return cache_dir("hardware") / f"bf16-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def cpu_bf16_benchmark(use_cache: bool = True) -> dict[str, Any]:
    """``{"fp32_gflops", "bf16_gflops", "speedup", "flags", "cached"}`` for this CPU (cached)."""
    path = _bench_cache_path()
    if use_cache and path.is_file():
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            if {"fp32_gflops", "bf16_gflops", "speedup"} <= set(cached):
                return {**cached, "cached": True}
        except (OSError, ValueError):
            pass  # a damaged cache entry is measured again
    fp32 = matmul_gflops("fp32")
    bf16 = matmul_gflops("bf16") if native_bf16_flags() else 0.0
    result = {"fp32_gflops": round(fp32, 2), "bf16_gflops": round(bf16, 2),
              "speedup": round(bf16 / fp32, 3) if fp32 else 0.0, "flags": native_bf16_flags()}
    from polyret.atomic import write_json

    try:
        write_json(path, result)
    except OSError as exc:  # a full or read-only cache must not stop the work: measure again next time
        import logging

        logging.getLogger(__name__).warning("could not cache the bf16 benchmark in %s: %s", path, exc)
    return {**result, "cached": False}


def resolve_precision(requested: str = "auto", device: Any = "cpu") -> str:
    """``"fp32"`` or ``"bf16"`` for ``requested`` in :data:`PRECISIONS` on ``device``."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision={requested!r} is not valid; expected one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested
    import torch

    if str(device).startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if not native_bf16_flags():
        return "fp32"
    return "bf16" if cpu_bf16_benchmark()["speedup"] >= BF16_MIN_SPEEDUP else "fp32"


def precision_record(requested: str, device: Any = "cpu") -> dict[str, Any]:
    """What to store beside a result: the request, the choice and why.

    On a CPU, whenever bf16 is asked for or chosen, the record names the CPU's native bf16 flags and
    the measured bf16/fp32 speed, and a warning says when bf16 is slower than fp32 here (an explicit
    ``bf16`` keeps results comparable with other bf16 runs, at a cost this record makes visible).
    """
    used = resolve_precision(requested, device)
    record: dict[str, Any] = {"requested": requested, "used": used, "device": str(device)}
    if str(device).startswith("cuda") or (requested != "auto" and used != "bf16"):
        return record
    record["cpu_bf16_flags"] = native_bf16_flags()
    if record["cpu_bf16_flags"]:
        record["benchmark"] = {k: v for k, v in cpu_bf16_benchmark().items() if k != "cached"}
    if used == "bf16":
        _warn_if_slow_bf16(record)
    return record


def _warn_if_slow_bf16(record: dict[str, Any]) -> None:
    """One warning per process when bf16 runs on a CPU where it is emulated or slower than fp32."""
    speedup = record.get("benchmark", {}).get("speedup")
    if record["cpu_bf16_flags"] and speedup is not None and speedup >= 1.0:
        return
    why = (f"bf16 matrix products run at {speedup:.2f}x fp32 here" if record["cpu_bf16_flags"]
           else "this CPU has no native bf16 instructions, so bf16 is emulated")
    _warn_once(f"precision bf16 was asked for, but {why} ({cpu_model()}); expect slower work than fp32")


@functools.cache
def _warn_once(message: str) -> None:
    import logging

    logging.getLogger(__name__).warning(message)
