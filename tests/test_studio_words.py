"""The studio's plain words and small parts, without a browser: the settings' ranges and refusals, a
refusal said next to its button (page) or raised (API), the downloads, and the login of ``--auth``."""

from __future__ import annotations

import os
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskgen.errors import MaskgenError
from maskgen.images import make_grid
from maskgen.studio.downloads import save_masks
from maskgen.studio.words import HOW_MANY, MASK_NUMBER, MIX_POINT, VARIETY, number


def test_variety_is_a_designers_range_and_refuses_in_words() -> None:
    assert (VARIETY.low, VARIETY.high, VARIETY.default) == (0.3, 1.2, 0.7)
    assert VARIETY.info() == "0.3 safe ... 1.2 wild; engineers: truncation psi"
    assert VARIETY.check("0.85") == 0.85 and VARIETY.check(1.2) == 1.2
    for typed, shown in ((4, "4"), (0.2, "0.2"), (-1, "-1"), (float("nan"), "nan")):
        with pytest.raises(MaskgenError) as caught:
            VARIETY.check(typed)
        assert str(caught.value) == (
            f"Variety goes from 0.3 (safe) to 1.2 (wild); {shown} is outside that, so nothing was made"
        )
    with pytest.raises(
        MaskgenError, match=r"Variety must be a number from 0.3 \(safe\) to 1.2 \(wild\); got 'a lot'"
    ):
        VARIETY.check("a lot")


def test_whole_numbers_tops_and_names() -> None:
    assert HOW_MANY.check_whole(8.0) == 8
    with pytest.raises(MaskgenError, match="How many masks must be a whole number from 1 to 64; got 2.5"):
        HOW_MANY.check(2.5)
    # a model with 10 style layers: the mix point's top is 10 here, not the setting's 16
    with pytest.raises(
        MaskgenError, match=r"Where B takes over goes from 0 \(all from B\) to 10; 12 is outside"
    ):
        MIX_POINT.check(12, 10)
    with pytest.raises(MaskgenError, match="mask A's number goes from 0 to 4,294,967,295; -1 is outside"):
        MASK_NUMBER.renamed("mask A's number").check(-1)
    assert [number(v) for v in (0.7, 64, 64.0, 12345, 2**32 - 1)] == [
        "0.7",
        "64",
        "64",
        "12,345",
        "4,294,967,295",
    ]


def test_a_refusal_is_said_on_the_page_and_raised_by_the_api(caplog) -> None:
    gr = pytest.importorskip("gradio", reason="the studio extra is not installed")
    from maskgen.studio.ui import on_page, raising

    def refuses(value: int) -> tuple[str, str]:
        raise MaskgenError("the sketch 'notes.png' is not a picture")

    def breaks(value: int) -> tuple[str, str]:
        raise KeyError("oops")

    def works(value: int) -> tuple[str, str]:
        return "image.png", f"made {value}"

    image, note = on_page(refuses, 2)(1)
    assert note == "<span class='mg-problem'>Not done: The sketch 'notes.png' is not a picture</span>"
    assert image == gr.skip()  # the result box keeps what it showed: no red "Error" badge
    _, note = on_page(breaks, 2)(1)
    assert "Something went wrong inside the studio (KeyError)" in note and "oops" not in note
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)  # the log has the details
    assert on_page(works, 2)(3) == ("image.png", "made 3")
    with pytest.raises(gr.Error) as caught:
        raising(refuses)(1)
    assert caught.value.message == "The sketch 'notes.png' is not a picture"


def test_downloads_each_mask_the_grid_and_a_zip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    saved = save_masks(masks, tmp_path, [f"mask-{s}" for s in range(7, 12)], "seeds7-11")
    assert [p.name for p in saved.singles] == [f"mask-{s}.png" for s in range(7, 12)]
    for path, mask in zip(saved.singles, masks, strict=True):
        assert np.array_equal(np.asarray(Image.open(path)), mask)
    assert np.array_equal(np.asarray(Image.open(saved.grid)), make_grid(masks))
    with zipfile.ZipFile(saved.archive) as z:
        assert z.namelist() == [p.name for p in saved.singles]
        assert all(z.read(p.name) == p.read_bytes() for p in saved.singles)
    assert (
        sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")) == []
    )  # nothing half-written
    with pytest.raises(ValueError, match="5 masks but 2 names"):
        save_masks(masks, tmp_path, ["a", "b"], "x")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("loopback_only")
def test_auth_puts_gradios_login_in_front_of_page_and_api(studio_models, tmp_path: Path) -> None:
    pytest.importorskip("gradio", reason="the studio extra is not installed: pip install 'maskgen[studio]'")
    import httpx
    from gradio_client import Client

    from maskgen.studio.server import StudioConfig, create, launch

    config = StudioConfig(
        checkpoints=[str(studio_models.generator)], translators=[str(studio_models.translator)],
        port=free_port(), temp_dir=tmp_path / "temp", runs_root=tmp_path / "runs", training=False,
        auth=("team", "a-long-passphrase"),
    )  # fmt: skip
    previous = os.environ.get("GRADIO_TEMP_DIR")  # create() sets it process-wide: put the session's back
    page, _ = create(config)
    launch(page, config, block=False)
    url = f"http://127.0.0.1:{config.port}/"
    try:
        assert httpx.get(url + "config").status_code in (401, 403)  # nothing without the login
        wrong = httpx.post(url + "login", data={"username": "team", "password": "guess"})
        assert wrong.status_code >= 400
        with pytest.raises(Exception):  # noqa: B017 - gradio_client's own error type varies by version
            Client(url, verbose=False).predict(str(studio_models.generator), api_name="/info")
        client = Client(url, auth=("team", "a-long-passphrase"), verbose=False)
        assert client.predict(str(studio_models.generator), api_name="/info") == "Draws masks at 16 px."
    finally:
        page.close()
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous
