"""The studio in a real browser, as a designer who never trained a model meets it: headless Chromium
(Debian's ``chromium``) driven by Playwright, on a studio started as ``maskgen studio`` starts it with no
arguments (the shipped models).

A first visit: the page opens on the recommended model, one click on *Random masks* gives a grid of 8,
a click on a mask opens it at 256 px (the cascade's pixels for its number), and the mask, the grid and
the zip download. Then every tab gives a result in one click from its ready example (Mix, Find your
mask, Walk, Colour a sketch; the Train tab says how long a run takes before it starts, then trains and
stops). The hostile inputs go through the page, and the test reads the words a person reads: a text file
renamed .png, an empty file, a 10000 x 10000 PNG, ``/etc/passwd`` and ``../../etc`` as a model folder, an
unknown ``hf://`` repo offline, a typed value outside a slider's range. Screenshots of each tab go to
$MASKGEN_TEST_ARTIFACTS (else the test's tmp_path); with MASKGEN_DOCS_SCREENSHOTS=DIR they are also
written there (docs/images for docs/studio.md), and the search of "Find your mask" then runs its full
default effort instead of 5 steps.

Without Chromium the test is skipped, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.apps.cascade import load_cascade
from maskgen.data.procedural import render_masks
from maskgen.images import make_grid, to_uint8

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("loopback_only")]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
BEST = "base:builtin-64px-mirrored"


def chromium() -> str:
    found = next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("no chromium executable in CI: .ci/run installs Debian's chromium with apt-get")
    pytest.skip("no chromium executable (apt-get install chromium); CI runs this test")


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MASKGEN_TEST_ARTIFACTS") or tmp_path) / "studio-browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def first_visit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The studio of `maskgen studio` with no arguments: the shipped models, an empty runs/ folder."""
    pytest.importorskip("gradio", reason="the studio extra is not installed: pip install 'maskgen[studio]'")
    from maskgen.studio.server import StudioConfig, create, launch

    config = StudioConfig(
        port=free_port(), temp_dir=tmp_path_factory.mktemp("first-visit-temp"),
        runs_root=tmp_path_factory.mktemp("first-visit-runs"),
    )  # fmt: skip
    previous = os.environ.get("GRADIO_TEMP_DIR")  # a studio sets it process-wide: put the session's back
    page, studio = create(config)
    launch(page, config, block=False)
    try:
        yield f"http://127.0.0.1:{config.port}/", studio
    finally:
        if studio.training is not None:
            studio.training.job.close(wait_s=30)
        page.close()
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header says width x height with almost no data (decoding it would need w*h*3 bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.abs(a.astype(np.int16) - b.astype(np.int16)).max() <= 1)


def test_a_designers_first_visit(first_visit, artifacts: Path, tmp_path: Path, monkeypatch) -> None:
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in maskgen's dev extra")
    url, studio = first_visit
    docs = os.environ.get("MASKGEN_DOCS_SCREENSHOTS")
    # An unknown hf:// repo is looked up in an empty cache, offline (read when it is asked for).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))

    def shot(page: Any, name: str, full_page: bool = True) -> None:
        page.wait_for_timeout(500)  # images finish fading in
        page.screenshot(path=str(artifacts / f"studio_{name}.png"), full_page=full_page)
        if docs:
            page.screenshot(path=str(Path(docs) / f"studio_{name}.png"), full_page=full_page)

    cascade = load_cascade(BEST, torch.device("cpu"))
    text, empty = tmp_path / "notes.png", tmp_path / "empty.png"
    text.write_text("not an image at all\n")
    empty.write_bytes(b"")
    huge = png_header_only(tmp_path / "huge.png", 10_000, 10_000)
    painted = tmp_path / "painted.png"  # a painted mask with large colour fields
    Image.fromarray(render_masks(6, 256, seed=3)[0][5]).save(painted)

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            # "load", not "networkidle": the Train tab's status poll keeps the network busy
            page.goto(url, wait_until="load")
            page.locator("#gen-random").wait_for(timeout=60_000)
            model = page.locator("#checkpoint input")
            assert model.input_value() == f"{BEST} (recommended, shipped with maskgen)"
            page.locator("#checkpoint-info", has_text="through its upscaler").wait_for(timeout=60_000)
            about = page.locator("#checkpoint-info").inner_text()
            assert about == "Draws masks at 64 px, and at 256 px (print size) through its upscaler."

            first_click(page, cascade, tmp_path)
            shot(page, "generate")
            open_one_large(page, cascade, tmp_path)
            shot(page, "generate_large", full_page=False)
            page.keyboard.press("Escape")
            one_click_tabs(page, docs is not None, shot)
            colour_a_sketch(page, painted, tmp_path, shot)
            train_estimate(page, shot)

            typed_out_of_range(page)
            bad_uploads(page, text, empty, huge)
            shot(page, "error", full_page=False)
            bad_model_folders(page)
            train_and_stop(page)
            content = page.content()
            assert "Traceback" not in content and 'File "' not in content
            assert page.get_by_text("Error", exact=True).count() == 0  # no red badges in the result boxes
        except Exception:
            page.screenshot(path=str(artifacts / "studio_failed.png"), full_page=True)  # what it showed
            raise
        finally:
            browser.close()


def first_click(page: Any, cascade: Any, tmp_path: Path) -> None:
    """One click on Random masks: 8 masks of the recommended model at 256 px, variety 0.7."""
    page.locator("#gen-random").click()
    note = page.locator("#gen-note", has_text="at 256 px, variety 0.7")
    note.wait_for(timeout=60_000)
    thumbs = page.locator("#gen-gallery button.thumbnail-item")
    thumbs.nth(7).wait_for(timeout=30_000)
    assert thumbs.count() == 8
    seed = int(page.locator("#gen-seed input").input_value())
    assert note.inner_text() == f"Masks {seed}-{seed + 7} of the model at 256 px, variety 0.7."
    # The grid and the zip download (hidden before the first result: no empty box on a first visit).
    with page.expect_download() as grid:
        page.locator("#gen-grid").click()
    wanted = to_uint8(cascade.draw(list(range(seed, seed + 8)), truncation=0.7, size=256))
    assert close(rgb(Path(grid.value.path()).read_bytes()), make_grid(wanted))
    with page.expect_download() as archive:
        page.locator("#gen-zip").click()
    with zipfile.ZipFile(archive.value.path()) as z:
        assert z.namelist() == [f"mask-{s}.png" for s in range(seed, seed + 8)]
        for name, mask in zip(z.namelist(), wanted, strict=True):
            assert close(rgb(z.read(name)), mask)
    page.evaluate("window.scrollTo(0, 0)")


def open_one_large(page: Any, cascade: Any, tmp_path: Path) -> None:
    """A click on a mask opens it at full size: the 256 px PNG of its number, and its own download."""
    seed = int(page.locator("#gen-seed input").input_value())
    page.locator("#gen-gallery button.thumbnail-item").nth(2).click()
    large = page.locator("#gen-gallery .preview img").first
    large.wait_for(timeout=15_000)
    shown = rgb(page.request.get(large.get_attribute("src")).body())
    assert close(shown, to_uint8(cascade.draw([seed + 2], truncation=0.7, size=256))[0])
    box = large.bounding_box()
    assert box["height"] >= 256  # at least its own size on the page: never shrunk
    with page.expect_download() as single:
        page.locator("#gen-gallery button[aria-label='Download']").first.click()
    assert close(rgb(Path(single.value.path()).read_bytes()), shown)


def typed_out_of_range(page: Any) -> None:
    """Variety typed as 4: refused in words under the slider, not silently set to 1.2."""
    page.get_by_role("tab", name="Generate").click()
    box = page.locator("#gen-variety input[type=number]")
    box.fill("4")
    box.press("Tab")
    said = "Variety goes from 0.3 (safe) to 1.2 (wild); 4 is outside that: the slider stays at 1.2."
    page.get_by_text(said).wait_for(timeout=15_000)
    box.fill("0.7")
    box.press("Tab")
    page.get_by_text(said).wait_for(state="hidden", timeout=15_000)


def bad_uploads(page: Any, text: Path, empty: Path, huge: Path) -> None:
    """Each refused upload: one line under the upload box, the box emptied, nothing else said."""
    page.get_by_role("tab", name="Find your mask").click()
    upload = page.locator("#project-file input[type=file]")
    note = page.locator("#project-file-note")
    page.locator("#project-file button[aria-label='Clear']").click()  # the ready example goes
    for path, said in (
        (text, "The picture 'notes.png' is not a picture (the studio reads PNG, JPEG, WebP, BMP and GIF)"),
        (empty, "The picture 'empty.png' is empty (0 bytes): choose the picture again"),
        (huge, "The picture 'huge.png' is 10000 x 10000 pixels; the largest picture the studio takes is "
         "4096 x 4096 pixels: make it smaller first"),
    ):  # fmt: skip
        upload.set_input_files(str(path))
        note.filter(has_text=said).wait_for(timeout=15_000)
        assert note.inner_text() == f"Not done: {said}"
        assert page.get_by_text(said).count() == 1  # said once, next to the upload
    page.locator("#project-button").click()  # nothing to search: said next to the button
    page.locator("#project-note", has_text="Choose a picture of a mask to find first").wait_for(
        timeout=15_000
    )


def bad_model_folders(page: Any) -> None:
    """Paths outside the served folders and an unknown Hub repo: where the studio looked, no commands."""
    page.locator("#add-model").click()  # open the fold
    text, note = page.locator("#add-model-text textarea"), page.locator("#add-model-note")
    served = "(the models shipped with maskgen, "
    for typed, said in (
        ("/etc/passwd", "'/etc/passwd' is not inside the folders this studio serves models from " + served),
        ("../../../../../../etc", "(that is /etc) is not inside the folders this studio serves models from"),
        ("hf://nobody/no-such-repo@v1", "this studio is set to work offline, so it cannot download it"),
    ):
        text.fill(typed)
        page.locator("#add-model-go").click()
        note.filter(has_text=said).wait_for(timeout=30_000)
        words = note.inner_text()
        assert words.startswith("Not done: ") and "maskgen " not in words and "HF_HUB" not in words, words
    assert page.locator("#checkpoint input").input_value().startswith(BEST)  # the list is unchanged


def one_click_tabs(page: Any, full: bool, shot: Any) -> None:
    """Mix, Find your mask and Walk each give a result in one click from their ready examples."""
    page.get_by_role("tab", name="Mix").click()
    page.locator("#mix-button").click()
    page.locator("#mix-note", has_text="The shape of mask 3 with the details of mask 10, at 256 px").wait_for(
        timeout=60_000
    )
    assert page.locator("#mix-gallery img").first.get_attribute("src")
    shot(page, "mix")

    page.get_by_role("tab", name="Find your mask").click()  # its ready example: a built-in mask
    if not full:  # the test's search: 5 steps; the docs' screenshot: the tab's default effort
        steps = page.locator("#project-steps input[type=number]")
        steps.fill("5")
        steps.press("Tab")
    page.locator("#project-button").click()
    page.locator("#project-note", has_text="Found the model's closest mask").wait_for(timeout=300_000)
    side = page.locator("#project-image img")
    assert rgb(page.request.get(side.get_attribute("src")).body()).shape == (256, 512, 3)
    shot(page, "project")

    page.get_by_role("tab", name="Walk").click()
    page.locator("#walk-button").click()
    page.locator("#walk-download").wait_for(state="visible", timeout=120_000)
    gif = page.request.get(page.locator("#walk-image img").get_attribute("src")).body()
    animation = Image.open(io.BytesIO(gif))
    assert animation.size == (256, 256) and animation.n_frames == 2 * 12 + 1
    shot(page, "walk")


def colour_a_sketch(page: Any, painted: Path, tmp_path: Path, shot: Any) -> None:
    page.get_by_role("tab", name="Colour a sketch").click()
    note, result = page.locator("#colour-note"), page.locator("#colour-result img")
    # The ready example: lines and built-in mask 1, coloured at print size in one click.
    page.locator("#colour-button").click()
    note.filter(has_text="Colours from built-in mask 1.").wait_for(timeout=120_000)
    assert "Coloured at 64 px, enlarged to 256 px." in note.inner_text()
    assert rgb(page.request.get(result.get_attribute("src")).body()).shape == (256, 256, 3)
    shot(page, "colour")
    # A built-in reference picked by clicking it; then an upload visibly replaces it.
    page.locator("#reference-gallery button.thumbnail-item").nth(4).click()
    page.locator("#reference-in-use", has_text="Colours from: built-in mask 5").wait_for(timeout=15_000)
    page.locator("#reference-file input[type=file]").set_input_files(str(painted))
    in_use = page.locator(
        "#reference-in-use", has_text="Colours from: your picture (it replaces the built-in"
    )
    in_use.wait_for(timeout=15_000)
    # A painted mask uploaded as the lines: turned into lines, and the page says so.
    page.locator("#sketch-file button[aria-label='Clear']").click()  # the ready example goes
    page.locator("#sketch-file input[type=file]").set_input_files(str(painted))
    page.locator("#sketch-note", has_text="256 x 256 pixels: ready.").wait_for(timeout=15_000)
    page.locator("#colour-button").click()
    note.filter(
        has_text="Your picture is a painted mask, so the studio turned it into lines first."
    ).wait_for(timeout=120_000)
    assert "Colours from your reference picture." in note.inner_text()
    # The canvas opens at 100% with the pen ready: a stroke draws, and the drawing is what gets coloured.
    canvas = page.locator("#colour-canvas canvas").first
    assert "100%" in page.locator("#colour-canvas").inner_text()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(
            box["x"] + box["width"] * (0.3 + 0.04 * step), box["y"] + box["height"] * 0.6, steps=2
        )
    page.mouse.up()
    page.locator("#colour-button").click()
    note.filter(has_text="Coloured your drawing.").wait_for(timeout=120_000)
    assert "painted mask" not in note.inner_text()


def train_estimate(page: Any, shot: Any) -> None:
    """The Train tab says how long a run takes and what it makes before it starts."""
    page.get_by_role("tab", name="Train on your masks").click()
    estimate = page.locator("#train-estimate")
    estimate.filter(has_text="add pictures to the collection").wait_for(timeout=30_000)
    page.locator("#train-examples").click()
    page.locator("#train-added", has_text="added 64 picture(s) to my-masks").wait_for(timeout=120_000)
    report = page.locator("#train-report", has_text="64 pictures to learn at 64 px")
    report.wait_for(timeout=60_000)
    assert "maskgen" not in report.inner_text() and "-G" not in report.inner_text()
    said = estimate.inner_text()
    assert "about 17 minutes on this machine, then it stops by itself: 15 minutes learning your masks" in said
    assert "then 2 minutes teaching the upscaler your masks at 256 px" in said
    assert "It makes a model that draws 64 px masks, and 256 px (print size) ones." in said
    shot(page, "train")


def train_and_stop(page: Any) -> None:
    """A run on the example masks trains, shows its pictures, and stops when asked."""
    page.get_by_role("tab", name="Train on your masks").click()
    page.locator("#train-start").click()
    page.locator("#train-status", has_text="training").wait_for(timeout=180_000)
    page.locator("#train-grid img").wait_for(timeout=30_000)  # the pictures as the run sees them
    page.locator("#train-stop").click()
    page.locator("#train-status", has_text="stopped").wait_for(timeout=180_000)
