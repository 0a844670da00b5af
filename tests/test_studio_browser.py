"""The studio in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

It opens the page, generates a mask and checks that the image shown is the library's image for that
seed, colours an uploaded sketch after an uploaded reference, uploads a text file renamed .png and
sees the message, and trains on an uploaded archive of masks (started, shown, stopped). Screenshots
go to $MASKGEN_TEST_ARTIFACTS (else the test's tmp_path); with MASKGEN_DOCS_SCREENSHOTS=DIR they are
also written there (docs/images for docs/studio.md).

Without Chromium the test is skipped, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.artifacts.generator import generate_images, load_generator
from maskgen.data.procedural import render_masks
from maskgen.images import to_uint8

pytestmark = pytest.mark.slow
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


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


def test_the_page_in_chromium(studio_server, artifacts: Path, tmp_path: Path) -> None:
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in maskgen's dev extra")
    docs = os.environ.get("MASKGEN_DOCS_SCREENSHOTS")

    def shot(page, name: str, full_page: bool = True) -> None:
        page.screenshot(path=str(artifacts / f"studio_{name}.png"), full_page=full_page)
        if docs:
            page.screenshot(path=str(Path(docs) / f"studio_{name}.png"), full_page=full_page)

    G = load_generator(studio_server.models.generator, torch.device("cpu"))[0]
    sketch, reference, text = tmp_path / "sketch.png", tmp_path / "reference.png", tmp_path / "notes.png"
    masks = to_uint8(generate_images(G, [2, 3]))
    Image.fromarray(masks[0]).resize((48, 48)).convert("L").save(sketch)  # greyscale, another size
    Image.fromarray(masks[1]).save(reference)
    text.write_text("not an image at all\n")
    archive = tmp_path / "masks.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i, mask in enumerate(render_masks(8, 64, seed=11)[0]):
            buffer = io.BytesIO()
            Image.fromarray(mask).save(buffer, "PNG")
            z.writestr(f"masks/{i}.png", buffer.getvalue())

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # "load", not "networkidle": the Train tab's status poll keeps the network busy
            page.goto(studio_server.url, wait_until="load")
            page.locator("#gen-button").wait_for(timeout=30_000)

            # Generate seed 7 and compare what the page shows with the library's image.
            seed = page.locator("#gen-seed input")
            seed.fill("7")
            seed.press("Tab")
            page.locator("#gen-button").click()
            page.locator("#gen-note", has_text="seed 7").wait_for(timeout=30_000)
            image = page.locator("#gen-image img")
            image.wait_for(timeout=30_000)
            shown = page.request.get(image.get_attribute("src"))
            assert shown.ok
            got = np.asarray(Image.open(io.BytesIO(shown.body())).convert("RGB"))
            want = to_uint8(generate_images(G, [7]))[0]
            assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 1
            shot(page, "generate")

            # Colour a sketch after a reference.
            page.get_by_role("tab", name="Colour a sketch").click()
            page.locator("#sketch-file input[type=file]").set_input_files(str(sketch))
            page.locator("#reference-file input[type=file]").set_input_files(str(reference))
            page.locator("#sketch-file", has_text="sketch").wait_for(timeout=15_000)
            page.locator("#reference-file", has_text="reference").wait_for(timeout=15_000)
            page.locator("#colour-button").click()
            page.locator("#colour-note", has_text="cocosnet translator").wait_for(timeout=60_000)
            result = page.locator("#colour-result img")
            result.wait_for(timeout=15_000)
            body = page.request.get(result.get_attribute("src")).body()
            assert Image.open(io.BytesIO(body)).size == (16, 16)
            assert "48x48 L" in page.locator("#colour-note").inner_text()
            shot(page, "colour")

            # A text file renamed .png: a message in the page, no stack trace.
            page.locator("#sketch-file button[aria-label='Clear']").click()
            page.locator("#sketch-file input[type=file]").set_input_files(str(text))
            page.locator("#sketch-file", has_text="notes").wait_for(timeout=15_000)
            page.locator("#colour-button").click()
            toast = page.get_by_text("is not an image maskgen can read")
            toast.first.wait_for(timeout=30_000)
            assert "Traceback" not in page.content()
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(1000)  # the toast fades in
            shot(page, "error", full_page=False)  # the message is a toast at the top of the window

            # Train on an uploaded archive of masks: check it, start a run, see its samples, stop it.
            page.get_by_role("tab", name="Train on your masks").click()
            page.locator("#train-uploads input[type=file]").set_input_files(str(archive))
            page.locator("#train-uploads", has_text="masks.zip").wait_for(timeout=15_000)
            page.locator("#train-add").click()
            page.locator("#train-added", has_text="added 8 picture(s) to my-masks").wait_for(timeout=60_000)
            page.locator("#train-report", has_text="8 images at 64 px").wait_for(timeout=60_000)
            page.locator("#train-start").click()
            page.locator("#train-command", has_text="maskgen run --data").wait_for(timeout=30_000)
            page.locator("#train-status", has_text="training").wait_for(timeout=120_000)
            page.locator("#train-grid img").wait_for(timeout=30_000)  # the reals, until a snapshot
            shot(page, "train")
            page.locator("#train-stop").click()
            page.locator("#train-status", has_text="stopped").wait_for(timeout=120_000)
            assert "Traceback" not in page.content()
        finally:
            studio_server.studio.training.job.close(wait_s=30)
            browser.close()
