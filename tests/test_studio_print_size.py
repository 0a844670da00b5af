"""The studio at print size: a checkpoint that carries an upscaler is drawn at the largest size it can
draw (a size choice: its own or the upscaler's) in Generate, Mix, Find your mask and Walk, the same
pixels as the cascade; a size it cannot draw, or a broken upscaler, is one plain message (the model's own
size keeps working)."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.apps.cascade import load_cascade
from maskgen.artifacts.upscaler import attach_upscaler
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.images import to_uint8
from maskgen.testing import tiny_config_values, tiny_upscale_values
from maskgen.training.loop import train as train_gan
from maskgen.upscaling.config import validate_upscale_config
from maskgen.upscaling.trainer import train as train_upscaler

pytest.importorskip("gradio", reason="the studio extra is not installed: pip install 'maskgen[studio]'")
from gradio_client import Client  # noqa: E402

from maskgen.studio.handlers import parse_size, size_label  # noqa: E402

AUTO = "seed mod classes"
pytestmark = pytest.mark.usefixtures("loopback_only")


def pixels(path: str | Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def close_u8(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.abs(a.astype(np.int16) - b.astype(np.int16)).max() <= 1)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 16 px GAN with a 4x upscaler, the same without it, and with a corrupt one."""
    root = tmp_path_factory.mktemp("print")
    upscaler = train_upscaler(validate_upscale_config(tiny_upscale_values()), out_root=root / "upscale")
    run = train_gan(
        validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008)), out_root=root / "gan"
    )
    cascade = root / "cascade"
    shutil.copytree((run / "checkpoints" / "latest").resolve(), cascade)
    attach_upscaler(cascade, upscaler / "checkpoints" / "latest")
    bare, broken = root / "bare", root / "broken"
    shutil.copytree(cascade, bare)
    shutil.rmtree(bare / "upscaler")
    shutil.copytree(cascade, broken)
    (broken / "upscaler" / "model.safetensors").write_bytes(b"not safetensors")
    return {"cascade": cascade, "bare": bare, "broken": broken}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def studio(checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The studio serving the three checkpoints, as `maskgen studio --checkpoint ...` starts it."""
    from maskgen.studio.server import StudioConfig, create, launch

    config = StudioConfig(
        checkpoints=[str(path) for path in checkpoints.values()],
        port=free_port(),
        queue_size=16,
        temp_dir=tmp_path_factory.mktemp("studio-temp"),
        runs_root=tmp_path_factory.mktemp("studio-runs"),
    )
    # A studio sets GRADIO_TEMP_DIR for the whole process (gradio accepts uploads only from there); put
    # back the one of the session's shared studio (conftest's studio_server) when this one closes.
    previous = os.environ.get("GRADIO_TEMP_DIR")
    page, studio = create(config)
    launch(page, config, block=False)
    try:
        yield studio, Client(f"http://127.0.0.1:{config.port}/", verbose=False)
    finally:
        page.close()
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous


def refused(client: Client, *args: Any, api_name: str) -> str:
    with pytest.raises(Exception) as caught:
        client.predict(*args, api_name=api_name)
    message = str(caught.value)
    assert "Traceback" not in message and 'File "' not in message and "\n" not in message.strip()
    return message


def test_generate_draws_at_the_largest_size_and_offers_both(checkpoints: dict[str, Path], studio) -> None:
    served, client = studio
    label = str(checkpoints["cascade"])
    info = served.info(label)
    assert info.sizes == [16, 64]
    about = client.predict(label, api_name="/info")
    assert about == "Draws masks at 16 px, and at 64 px through its upscaler."
    cascade = load_cascade(checkpoints["cascade"], torch.device("cpu"))
    # Without a size (the API's default) and with the largest: the cascade's 64 px masks.
    for args in ((label, 7, 0.7, AUTO, 1), (label, 7, 0.7, AUTO, 1, "64 px")):
        shown, download, note = client.predict(*args, api_name="/generate")
        expected = to_uint8(cascade.draw([7], truncation=0.7, size=64))[0]
        assert close_u8(pixels(shown), expected) and close_u8(pixels(download), expected)
        assert "mask 7 of" in note and "at 64 px" in note
    shown, _, note = client.predict(label, 3, 1.0, AUTO, 1, "16 px", api_name="/generate")
    assert close_u8(pixels(shown), to_uint8(cascade.draw([3], size=16))[0]) and "at 16 px" in note
    assert client.predict(str(checkpoints["bare"]), api_name="/info") == "Draws masks at 16 px."
    # A checkpoint without an upscaler draws its own size, and offers no choice.
    bare = str(checkpoints["bare"])
    assert served.info(bare).sizes == [16]
    shown, _, _ = client.predict(bare, 3, 1.0, AUTO, 1, api_name="/generate")
    assert pixels(shown).shape == (16, 16, 3)


def test_sizes_it_cannot_draw_and_a_broken_upscaler_are_one_message(
    checkpoints: dict[str, Path], studio
) -> None:
    served, client = studio
    label, bare, broken = (str(checkpoints[k]) for k in ("cascade", "bare", "broken"))
    message = refused(client, bare, 0, 1.0, AUTO, 1, "64 px", api_name="/generate")
    assert "has no upscaler for 64 px" in message
    assert "cannot draw 32 px masks" in served_error(served, label, "32 px")
    message = refused(client, broken, 0, 1.0, AUTO, 1, api_name="/generate")
    assert "Unreadable checkpoint file" in message
    # The broken upscaler spoils print size only: the generator's own size still works, in every tab.
    message = refused(client, broken, 0, None, 1, None, 3, 1.0, AUTO, api_name="/mix")
    assert "Unreadable checkpoint file" in message
    mixed, _ = client.predict(broken, 0, None, 1, None, 3, 1.0, AUTO, "16 px", api_name="/mix")
    assert pixels(mixed).shape == (16, 16, 3)


def served_error(served: Any, label: str, size: str) -> str:
    """The handler's own message for a size the radio would not offer (gradio refuses it earlier)."""
    with pytest.raises(MaskgenError) as caught:
        served.generate(label, 0, 1.0, AUTO, 1, size)
    return str(caught.value)


def test_size_choices_read_as_the_cli_reads_them() -> None:
    assert size_label(64) == "64 px" and size_label(256) == "256 px (print size)"
    assert parse_size("256 px (print size)") == 256 and parse_size(" 64 px") == 64 and parse_size(256) == 256
    assert parse_size(None) is None and parse_size("") is None
    with pytest.raises(MaskgenError, match="number of pixels"):
        parse_size("large")


def test_mix_find_and_walk_draw_at_print_size(checkpoints: dict[str, Path], studio, tmp_path: Path) -> None:
    """Mix, Find your mask (projection) and Walk draw through the upscaler too, by default: the pixels of
    the library's own calls with the cascade's enlarger."""
    from gradio_client import handle_file

    from maskgen.apps.mixing import style_mixing_grid
    from maskgen.apps.video import latent_walk

    served, client = studio
    label = str(checkpoints["cascade"])
    cascade = load_cascade(checkpoints["cascade"], torch.device("cpu"))
    G = cascade.generator

    def enlarge(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return cascade.enlarge(images, 64)

    mixed, grid = client.predict(label, 0, None, 1, None, 3, 0.7, AUTO, api_name="/mix")
    expected = style_mixing_grid(G, [0], [1], list(range(3, G.num_ws)), 0.7, None, enlarge)
    assert close_u8(pixels(mixed), expected.cells[0, 0]) and close_u8(pixels(grid), expected.image())
    small, _ = client.predict(label, 0, None, 1, None, 3, 0.7, AUTO, "16 px", api_name="/mix")
    assert pixels(small).shape == (16, 16, 3)

    gif, _ = client.predict(label, "1,2", None, 2, False, 10, "gif", 0.7, AUTO, api_name="/walk")
    frames = latent_walk(G, [1, 2], frames=2, truncation=0.7, enlarge=enlarge)
    shown = Image.open(gif)
    assert shown.size == (64, 64) and shown.n_frames == len(frames) == 3

    target = tmp_path / "mask.png"
    Image.fromarray(to_uint8(cascade.draw([5], size=64))[0]).save(target)
    side, _, summary = client.predict(
        label, handle_file(str(target)), 3, 0, "fixed", False, api_name="/project"
    )
    assert pixels(side).shape == (64, 128, 3) and "shown at 64 px" in summary
    assert np.array_equal(pixels(side)[:, :64], np.asarray(Image.open(target).convert("RGB")))
