#!/usr/bin/env python
"""Load on the studio over loopback: N concurrent clients generating and projecting.

Each client is a separate gradio_client session in its own thread. Client c makes ``--requests``
generate calls for its own seeds (c * 1000 + i) and every ``--project-every``-th one also projects
the mask it just got (``--steps`` steps). Every answer is checked: a generated image must be the
library's image for that client's seed, and a projection's target (left half of target|projection)
must be the mask that client uploaded, so nothing is lost or mixed up between clients. Reports
requests per second and the median and p95 latency per kind, and with ``--json`` writes them.

    python benchmarks/studio_load.py --clients 8 --requests 6 --json benchmarks/studio_load.json

Without ``--checkpoint`` it trains a 16 px generator for two iterations first (a few seconds). The
run is bounded: at most 64 clients, 100 requests each, and ``--timeout`` seconds per request.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

MAX_CLIENTS = 64
MAX_REQUESTS = 100


@dataclass
class LoadResult:
    clients: int
    requests: int = 0
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"generate": [], "project": []})
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        kinds = {}
        for kind, values in self.latencies.items():
            if values:
                kinds[kind] = {
                    "count": len(values),
                    "median_s": round(float(np.median(values)), 3),
                    "p95_s": round(float(np.percentile(values, 95)), 3),
                }
        every = [v for values in self.latencies.values() for v in values]
        return {
            "clients": self.clients,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "requests_per_second": round(self.requests / self.seconds, 2) if self.seconds else 0.0,
            "p95_s": round(float(np.percentile(every, 95)), 3) if every else None,
            "by_kind": kinds,
            "problems": len(self.problems),
        }


def _pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.abs(a.astype(np.int16) - b.astype(np.int16)).max() <= 1)


def run_load(
    url: str,
    label: str,
    G: torch.nn.Module,
    clients: int = 8,
    requests: int = 4,
    project_every: int = 2,
    steps: int = 10,
    timeout: float = 120.0,
    workdir: Path | None = None,
) -> LoadResult:
    """Drive the studio at ``url`` (serving ``label``) with ``clients`` concurrent sessions."""
    from gradio_client import Client, handle_file

    from maskgen.artifacts.generator import generate_images
    from maskgen.images import to_uint8

    clients = max(1, min(clients, MAX_CLIENTS))
    requests = max(1, min(requests, MAX_REQUESTS))
    workdir = Path(workdir or tempfile.mkdtemp(prefix="studio-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    seeds = {c: [c * 1000 + i for i in range(requests)] for c in range(clients)}
    every_seed = [s for c in range(clients) for s in seeds[c]]
    expected = dict(zip(every_seed, to_uint8(generate_images(G, every_seed)), strict=True))
    result = LoadResult(clients)
    lock = threading.Lock()
    sessions = [Client(url, verbose=False) for _ in range(clients)]  # connected before the clock starts

    def timed(client: Any, kind: str, *args: Any, api_name: str) -> Any:
        started = time.perf_counter()
        out = client.submit(*args, api_name=api_name).result(timeout=timeout)
        with lock:
            result.latencies[kind].append(time.perf_counter() - started)
            result.requests += 1
        return out

    def one_client(c: int) -> None:
        client = sessions[c]
        for i, seed in enumerate(seeds[c]):
            try:
                shown, _, _ = timed(
                    client, "generate", label, seed, 1.0, "seed mod classes", 1, api_name="/generate"
                )
                got = _pixels(shown)
                if not _close(got, expected[seed]):
                    raise AssertionError(f"client {c} asked for seed {seed} and got another image")
                if project_every and i % project_every == 0:
                    target = workdir / f"client{c:02d}_seed{seed}.png"
                    Image.fromarray(got).save(target)
                    side, _, summary = timed(
                        client, "project", label, handle_file(str(target)), steps, 0, "fixed", False,
                        api_name="/project",
                    )  # fmt: skip
                    left = _pixels(side)[:, : got.shape[1]]
                    if target.name not in summary or not _close(left, got):
                        raise AssertionError(f"client {c} got a projection of another target: {summary}")
            except Exception as exc:  # counted, reported: the test asserts there are none
                with lock:
                    result.problems.append(f"client {c} request {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one_client, args=(c,), daemon=True) for c in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout * requests * 2)
        if thread.is_alive():
            result.problems.append("a client did not finish in time")
    result.seconds = time.perf_counter() - started
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=6, help="generate calls per client")
    parser.add_argument("--project-every", type=int, default=3, help="project after every k-th (0: never)")
    parser.add_argument("--steps", type=int, default=20, help="projection steps")
    parser.add_argument("--checkpoint", default=None, help="a GAN checkpoint (default: train a tiny one)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = parser.parse_args(argv)

    from maskgen.artifacts.generator import load_generator
    from maskgen.studio.server import StudioConfig, create, launch

    work = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    checkpoint = args.checkpoint
    if checkpoint is None:
        from maskgen.config import validate_config
        from maskgen.testing import tiny_config_values
        from maskgen.training.loop import train

        torch.manual_seed(0)
        run = train(
            validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008)), out_root=work / "runs"
        )
        checkpoint = str(run / "checkpoints" / "latest")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = StudioConfig(
        checkpoints=[checkpoint], port=port, temp_dir=work / "temp", queue_size=4 * args.clients
    )
    page, _ = create(config)
    launch(page, config, block=False)
    try:
        G = load_generator(checkpoint, torch.device("cpu"))[0]
        result = run_load(
            f"http://127.0.0.1:{port}/", checkpoint, G, args.clients, args.requests, args.project_every,
            args.steps, args.timeout, work / "uploads",
        )  # fmt: skip
    finally:
        page.close()
    summary = result.summary() | {
        "checkpoint": "tiny 16 px (tests)" if args.checkpoint is None else checkpoint,
        "projection_steps": args.steps,
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs",
    }
    print(json.dumps(summary, indent=2))
    for problem in result.problems[:10]:
        print("problem:", problem)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
