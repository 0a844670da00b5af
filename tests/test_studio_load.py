"""Load on the studio over loopback (benchmarks/studio_load.py, small): concurrent clients generating
and projecting each get their own answers; a full queue says "busy" at once."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from maskgen.artifacts.generator import generate_images, load_generator
from maskgen.images import to_uint8

pytestmark = pytest.mark.slow
pytest.importorskip("gradio", reason="the studio extra is not installed: pip install 'maskgen[studio]'")
from gradio_client import Client, handle_file  # noqa: E402

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "studio_load.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("studio_load", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_concurrent_clients_each_get_their_own_images(studio_server, tmp_path: Path) -> None:
    bench = load_benchmark()
    G = load_generator(studio_server.models.generator, torch.device("cpu"))[0]
    result = bench.run_load(
        studio_server.url, str(studio_server.models.generator), G, clients=6, requests=3, project_every=2,
        steps=5, timeout=60, workdir=tmp_path,
    )  # fmt: skip
    assert result.problems == []
    assert result.requests == 6 * 3 + 6 * 2  # every generate and every projection answered
    summary = result.summary()
    assert summary["requests_per_second"] > 0 and summary["p95_s"] < 60
    print("\nstudio load:", summary)


def test_a_full_queue_says_busy(studio_server, tmp_path: Path) -> None:
    G = load_generator(studio_server.models.generator, torch.device("cpu"))[0]
    target = tmp_path / "mask.png"
    Image.fromarray(to_uint8(generate_images(G, [1]))[0]).save(target)
    label = str(studio_server.models.generator)
    queue = studio_server.page._queue
    saved = queue.max_size
    queue.max_size = 1  # what --queue-size 1 sets
    clients = [Client(studio_server.url, verbose=False) for _ in range(4)]
    try:
        jobs = [
            c.submit(label, handle_file(str(target)), 300, 0, "fixed", False, api_name="/project")
            for c in clients
        ]
        messages = []
        for job in jobs:
            try:
                job.result(timeout=0.1 if messages else 3)
            except Exception as exc:
                messages.append(str(exc))
        assert any("Queue is full" in m for m in messages), messages
    finally:
        queue.max_size = saved
        for job in jobs:
            job.cancel()  # drops a waiting one from the queue
        for client in clients:
            client.predict(api_name="/cancel")  # the running projection stops at its next step
    deadline = time.monotonic() + 30
    while studio_server.studio.jobs.count() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert studio_server.studio.jobs.count() == 0
