"""The studio through its own client (gradio_client), one call per tab, and its refusals.

The server (tests/conftest.py: studio_server) serves a 16 px generator and translator trained for two
iterations; every image it returns is compared with what the library makes for the same settings.
"""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.apps.latents import load_projected
from maskgen.apps.mixing import style_mixing_grid
from maskgen.artifacts.generator import generate_images, load_generator
from maskgen.data.sketch import XDoGParams, sketch_to_uint8
from maskgen.errors import MaskgenError
from maskgen.images import make_grid, to_uint8
from maskgen.studio.catalogue import TRAIN_HINT, Catalogue
from maskgen.studio.handlers import builtin_reference_path
from maskgen.studio.uploads import check_image, check_latent, in_area
from maskgen.testing import assert_one_line_error
from maskgen.translation.apply import is_colour_image, load_sketch

pytest.importorskip("gradio", reason="the studio extra is not installed: pip install 'maskgen[studio]'")
from gradio_client import Client, handle_file  # noqa: E402

CPU = torch.device("cpu")
AUTO = "seed mod classes"


def pixels(path: str | Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def close_u8(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to one grey level (batch composition may change the last float bit)."""
    return a.shape == b.shape and bool(np.abs(a.astype(np.int16) - b.astype(np.int16)).max() <= 1)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height pixels with almost no data: a decompression bomb's
    shape (decoding it would need width * height * 3 bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def client(studio_server) -> Client:
    return Client(studio_server.url, verbose=False)


@pytest.fixture(scope="module")
def G(studio_server) -> torch.nn.Module:
    return load_generator(studio_server.models.generator, CPU)[0]


def test_generate_is_the_library_image_for_the_seed(client: Client, studio_server, G) -> None:
    label = str(studio_server.models.generator)
    shown, download, note = client.predict(label, 7, 0.7, AUTO, 1, api_name="/generate")
    expected = to_uint8(generate_images(G, [7], truncation=0.7))[0]
    assert close_u8(pixels(shown), expected) and close_u8(pixels(download), expected)
    assert "mask 7 of" in note and "at 16 px, variety 0.7" in note
    grid, _, _ = client.predict(label, 3, 1.0, AUTO, 4, api_name="/generate")
    assert close_u8(pixels(grid), make_grid(to_uint8(generate_images(G, [3, 4, 5, 6]))))
    info = client.predict(label, api_name="/info")
    assert info == "Draws masks at 16 px."  # no upscaler, no main colours


def test_mix_project_walk_and_colour(client: Client, studio_server, G, tmp_path: Path) -> None:
    label = str(studio_server.models.generator)
    mixed, grid = client.predict(label, 0, None, 1, None, 3, 1.0, AUTO, api_name="/mix")
    expected = style_mixing_grid(G, [0], [1], list(range(3, G.num_ws)))
    assert close_u8(pixels(mixed), expected.cells[0, 0]) and close_u8(pixels(grid), expected.image())

    # Project a generated mask (as an upload), then mix and walk from its latent.
    target = tmp_path / "mask.png"
    Image.fromarray(to_uint8(generate_images(G, [11]))[0]).save(target)
    side, w_file, summary = client.predict(
        label, handle_file(str(target)), 20, 0, "fixed", False, api_name="/project"
    )
    assert pixels(side).shape == (16, 32, 3) and "20 steps" in summary
    w, _, meta = load_projected(w_file)
    assert w.shape == (1, G.w_dim) and meta["settings"]["steps"] == 20
    mixed, _ = client.predict(label, 0, handle_file(w_file), 1, None, G.num_ws, 1.0, AUTO, api_name="/mix")
    assert close_u8(pixels(mixed), pixels(side)[:, 16:])  # every layer from A, the projection: noise "fixed"

    gif, mp4 = client.predict(
        label, "1,2", [handle_file(w_file)], 3, False, 10, "mp4", 1.0, AUTO, api_name="/walk"
    )
    frames = Image.open(gif)
    assert frames.n_frames == 7 and Path(mp4).suffix == ".mp4" and Path(mp4).stat().st_size > 0

    # Colour: a greyscale sketch of another size, an RGBA reference of another size: accepted, converted.
    sketch, reference = tmp_path / "sketch.png", tmp_path / "ref.png"
    Image.fromarray(to_uint8(generate_images(G, [2]))[0]).resize((40, 30)).convert("L").save(sketch)
    Image.fromarray(to_uint8(generate_images(G, [3]))[0]).resize((20, 24)).convert("RGBA").save(reference)
    translator = str(studio_server.models.translator)
    seen, out, warp, note = client.predict(
        translator, handle_file(str(sketch)), None, False, handle_file(str(reference)), 0, api_name="/colour"
    )
    assert pixels(out).shape == (16, 16, 3) and pixels(warp).shape == (16, 16, 3)
    assert "The lines (40 x 30 pixels) were fitted to the model's 16 x 16 square" in note
    assert "Colours from your reference picture" in note and Image.open(seen).mode == "L"
    _, out2, _, note2 = client.predict(
        translator, handle_file(str(target)), None, True, None, 5, api_name="/colour"
    )
    assert "turned it into lines first" in note2 and "built-in mask 6" in note2  # shown counting from 1
    assert pixels(out2).shape == (16, 16, 3)


def test_colour_mask_given_as_sketch_uses_its_lines(client: Client, studio_server, tmp_path: Path) -> None:
    """As in `translate apply`: a painted mask uploaded as the sketch is read as its XDoG lines."""
    painted = builtin_reference_path(tmp_path, 1).rename(tmp_path / "my mask.png")  # a space in the name
    assert is_colour_image(painted)
    seen, _, _, note = client.predict(
        str(studio_server.models.translator), handle_file(str(painted)), None, False, None, 0,
        api_name="/colour",
    )  # fmt: skip
    assert note.startswith("Your picture is a painted mask, so the studio turned it into lines first.")
    assert "The lines (128 x 128 pixels) were fitted to the model's 16 x 16 square" in note
    assert "XDoG" not in note and "my mask" not in note  # plain words, no file names
    expected = sketch_to_uint8(load_sketch(painted, 16, XDoGParams()))[0]
    assert np.array_equal(np.asarray(Image.open(seen)), expected)


@pytest.mark.parametrize(
    "case",
    [
        "text renamed png",
        "empty",
        "bomb",
        "outside roots",
        "up and out",
        "hf offline",
        "no npz",
        "seed range",
        "variety",
        "walk too long",
        "walk numbers",
    ],
)
def test_bad_input_is_a_message(
    case: str, client: Client, studio_server, tmp_path: Path, monkeypatch
) -> None:
    label = str(studio_server.models.generator)
    translator = str(studio_server.models.translator)
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    calls = {
        "text renamed png": (
            (translator, handle_file(str(text)), None, False, None, 0),
            "/colour",
            "The sketch 'notes.png' is not a picture (the studio reads PNG, JPEG, WebP, BMP and GIF)",
        ),
        "empty": (
            (translator, handle_file(str(empty)), None, False, None, 0),
            "/colour",
            "The sketch 'empty.png' is empty (0 bytes)",
        ),
        "bomb": (
            (
                label,
                handle_file(str(png_header_only(tmp_path / "bomb.png", 50_000, 50_000))),
                10,
                0,
                "fixed",
                False,
            ),
            "/project",
            "the largest picture the studio takes is 1024 x 1024 pixels",  # conftest: max_pixels 1024**2
        ),
        "outside roots": (
            ("/etc/passwd", 0, 1.0, AUTO, 1),
            "/generate",
            "'/etc/passwd' is not inside the folders this studio serves models from",
        ),
        "up and out": (
            ("../../../../../../../etc", 0, 1.0, AUTO, 1),
            "/generate",
            "(that is /etc) is not inside the folders this studio serves models from",
        ),
        "hf offline": (("hf://nobody/no-such-repo@v1",), "/pull", "HF_HUB_OFFLINE=1"),
        "no npz": (
            (label, 0, handle_file(str(text)), 1, None, 3, 1.0, AUTO),
            "/mix",
            ".npz",
        ),  # refused by the file type check first
        "seed range": (
            (label, -3, 1.0, AUTO, 1),
            "/generate",
            "Mask number goes from 0 to 4,294,967,295; -3 is outside that",
        ),
        "variety": (
            (label, 0, 4, AUTO, 1),
            "/generate",
            "Variety goes from 0.3 (safe) to 1.2 (wild); 4 is outside that, so nothing was made",
        ),
        "walk too long": ((label, "0-15", None, 120, True, 10, "gif", 1.0, AUTO), "/walk", "at most 600"),
        "walk numbers": (
            (label, "3, ten", None, 12, False, 10, "gif", 0.7, AUTO),
            "/walk",
            "numbers like 3, 10, 21 or a range like 4-7 (going up); '3, ten' is not",
        ),
    }
    args, endpoint, fragment = calls[case]
    if case == "hf offline":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(Exception) as caught:
        client.predict(*args, api_name=endpoint)
    message = str(caught.value)
    assert fragment in message, message
    assert "Traceback" not in message and 'File "' not in message
    assert "maskgen studio --checkpoint" not in message  # never suggests serving the path


def test_cancel_stops_a_long_projection(studio_server, G, tmp_path: Path) -> None:
    client = Client(studio_server.url, verbose=False)  # its own session
    target = tmp_path / "mask.png"
    Image.fromarray(to_uint8(generate_images(G, [4]))[0]).save(target)
    label = str(studio_server.models.generator)
    job = client.submit(label, handle_file(str(target)), 1000, 0, "fixed", False, api_name="/project")
    deadline = time.monotonic() + 30
    while studio_server.studio.jobs.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert "cancelling 1 job" in client.predict(api_name="/cancel")
    with pytest.raises(Exception, match="Projection cancelled at step"):
        job.result(timeout=60)
    assert time.monotonic() - started < 20


# -- the parts, without a server -----------------------------------------------------------------------


def test_uploads_are_checked_before_decoding(tmp_path: Path) -> None:
    area = tmp_path / "area"
    area.mkdir()
    bomb = png_header_only(area / "bomb.png", 6000, 6000)  # under PIL's own limit, over ours
    with pytest.raises(
        MaskgenError, match="is 6000 x 6000 pixels; the largest picture the studio takes is 4096 x 4096"
    ):
        check_image(bomb, [area])
    with pytest.raises(MaskgenError, match="says it is larger than"):  # over PIL's: refused at the header too
        check_image(png_header_only(area / "huge.png", 30_000, 30_000), [area])
    (area / "empty.png").write_bytes(b"")
    with pytest.raises(MaskgenError, match="'empty.png' is empty \\(0 bytes\\)"):
        check_image(area / "empty.png", [area])
    (area / "notes.png").write_text("text")
    with pytest.raises(MaskgenError, match="'notes.png' is not a picture"):
        check_image(area / "notes.png", [area])
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (4, 4)).save(outside)
    with pytest.raises(MaskgenError, match="only files uploaded"):
        check_image(outside, [area])
    (area / "link.png").symlink_to(outside)  # a link out of the area is outside too
    with pytest.raises(MaskgenError, match="only files uploaded"):
        in_area(area / "link.png", [area])
    Image.new("LA", (30, 20)).save(area / "grey.png")
    assert check_image(area / "grey.png", [area]).describe() == "30x20 LA PNG"
    (area / "w.npy").write_bytes(b"x")
    with pytest.raises(MaskgenError, match="is not a found mask: upload the .npz file"):
        check_latent(area / "w.npy", [area])


def test_catalogue_without_arguments(studio_models, tmp_path: Path) -> None:
    empty = Catalogue(runs_root=tmp_path / "no-runs")
    # Base models shipped in the package are listed, generators and translators apart.
    from maskgen.artifacts.base_models import list_base_models, list_base_translators

    assert empty.labels("gan") == ["base:" + p.name for p in list_base_models()]
    assert empty.labels("translation") == ["base:" + p.name for p in list_base_translators()]
    assert "`" not in TRAIN_HINT and "maskgen " not in TRAIN_HINT  # no shell commands for a designer
    # the page opens on the shipped GAN that draws the best masks
    assert empty.default("gan") == "base:builtin-64px-mirrored"
    shown = dict((value, text) for text, value in empty.choices("gan"))
    assert shown["base:builtin-64px-mirrored"].endswith("(recommended, shipped with maskgen)")
    assert shown["base:builtin-64px"].endswith("(shipped with maskgen)")
    found = Catalogue(runs_root=studio_models.root)  # its runs/ and translate/ hold one run each
    assert any(label.endswith("00000-none-builtin-16px") for label in found.labels("gan"))
    runs = [label for label in found.labels("translation") if not label.startswith("base:")]
    assert len(runs) == 1
    inside = found.entry(str(studio_models.generator), "gan")  # a path inside the searched root
    assert inside.kind == "gan"
    with pytest.raises(MaskgenError, match="is not inside the folders this studio serves models from"):
        found.entry(str(tmp_path), "gan")
    with pytest.raises(MaskgenError, match="is a colouring model \\(translator\\), not a mask model"):
        found.entry(runs[0], "gan")
    # "Add a model": a folder inside the served ones joins the list; where it looked, when it is not one
    inside = studio_models.root / "runs"
    with pytest.raises(MaskgenError, match="no mask model at .*looked for model.safetensors in it"):
        found.add_path(str(inside), "gan")
    assert found.add_path(str(studio_models.generator), "gan").label in found.labels("gan")


def test_studio_command_line(cli, monkeypatch, tmp_path: Path) -> None:
    from maskgen.cli.main import app

    assert_one_line_error(cli.invoke(app, ["studio", "--port", "0"]), "--port", exit_code=2)
    result = cli.invoke(app, ["studio", "--checkpoint", str(tmp_path / "missing")])
    assert_one_line_error(result, "checkpoint not found")
    monkeypatch.chdir(tmp_path)
    result = cli.invoke(app, ["studio", "--check"])
    assert result.exit_code == 0 and "would train on uploaded collections under runs/studio/" in result.stdout
    result = cli.invoke(app, ["studio", "--check", "--no-training"])
    assert result.exit_code == 0 and "would train" not in result.stdout
    # Beyond loopback: a warning without a login, a plain line with one (--auth, Gradio's own login)
    result = cli.invoke(app, ["studio", "--check", "--host", "0.0.0.0"])
    assert result.exit_code == 0 and "warning: listening on 0.0.0.0:7860" in result.stderr
    assert "there is no login: anyone who reaches it can use it (add --auth USER:PASSWORD" in result.stderr
    result = cli.invoke(app, ["studio", "--check", "--host", "0.0.0.0", "--auth", "team:pass:word"])
    assert result.exit_code == 0 and "warning" not in result.stderr and "a login is required" in result.stderr
    result = cli.invoke(app, ["studio", "--check", "--auth", "team:pass"])
    assert result.exit_code == 0 and result.stderr == ""  # loopback: nothing to say
    for bad in ("team", "team:", ":pass"):
        result = cli.invoke(app, ["studio", "--check", "--auth", bad])
        assert_one_line_error(result, "--auth takes USER:PASSWORD")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a)
    )
    assert_one_line_error(cli.invoke(app, ["studio"]), "maskgen[studio]")
