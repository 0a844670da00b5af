"""The studio's Train tab: collections built from uploads (hostile archives included), the
``maskgen run`` command it starts, and a real child run started, stopped, continued and served."""

from __future__ import annotations

import io
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.artifacts.generator import load_generator
from maskgen.data.check import CollectionReport
from maskgen.data.folder import find_images
from maskgen.data.procedural import render_masks
from maskgen.errors import MaskgenError
from maskgen.studio import collections as collections_module
from maskgen.studio.catalogue import GAN, Catalogue
from maskgen.studio.collections import Collections, check_name
from maskgen.studio.training import (
    TrainingDesk,
    TrainingJob,
    TrainingRequest,
    TrainingStatus,
    _run_resolution,
    plain_report,
)


def png_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def masks() -> np.ndarray:
    return render_masks(6, 32, seed=5)[0]


def archive(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def lie_about_size(path: Path, member: str, claimed: int) -> None:
    """Rewrite ``member``'s uncompressed size in the local and central headers: a zip bomb's header."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        if data[local + 30 : local + 30 + len(name)] == name:
            struct.pack_into("<I", data, local + 22, claimed)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        if data[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", data, central + 24, claimed)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_an_archive_keeps_its_pictures_and_nothing_else(masks, tmp_path: Path, monkeypatch) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setattr(collections_module, "MAX_BYTES", 64 * 1024)
    good = {f"set/sub/mask {i}.png": png_bytes(m) for i, m in enumerate(masks[:4])}
    zipped = archive(
        uploads / "masks.zip",
        {
            **good,
            "../../escaped.png": png_bytes(masks[4]),  # a path out of the folder: never followed
            "/abs/rooted.png": png_bytes(masks[4]),
            "__MACOSX/set/._mask 0.png": b"\0\5\26\7 resource fork",
            "notes.txt": b"not a picture",
            "renamed.png": b"this is text, not a PNG",
            "bomb.png": b"\0" * (256 * 1024),  # compresses to almost nothing
        },
    )
    lie_about_size(zipped, "bomb.png", 100)
    single = uploads / "single.jpg"
    Image.fromarray(masks[5]).save(single, quality=90)
    collections = Collections(tmp_path / "studio")

    added = collections.add("my-set", [zipped, single], [uploads])

    kept = find_images(collections.images("my-set"))
    names = [p.name for p in kept]
    # the four pictures, the one with an absolute path (by its base name) and the single upload
    assert added.added == 6 and len(kept) == 6, (added.summary(), names)
    assert names[0] == "00000-mask_0.png" and names[-1] == "00005-single.jpg"
    assert all(p.parent == collections.images("my-set") for p in kept)
    assert not (tmp_path / "escaped.png").exists() and not (tmp_path / "studio" / "escaped.png").exists()
    for name, picture in zip(names[:4], masks[:4], strict=True):
        assert np.array_equal(np.asarray(Image.open(collections.images("my-set") / name)), picture)
    refused = " | ".join(added.refused)
    assert "renamed.png: is not a picture" in refused and "bomb.png" in refused, refused
    assert "notes.txt" not in refused  # not a picture's name: skipped silently, as find_images does
    assert not [p for p in collections.images("my-set").iterdir() if p.name.startswith(".")]  # no halves
    assert collections.names() == ["my-set"] and collections.count("my-set") == 6

    again = collections.add("my-set", [single], [uploads])  # numbering goes on
    assert again.added == 1 and find_images(collections.images("my-set"))[-1].name == "00006-single.jpg"


def test_collection_limits_and_refusals(masks, tmp_path: Path, monkeypatch) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    zipped = archive(uploads / "five.zip", {f"m{i}.png": png_bytes(m) for i, m in enumerate(masks[:5])})
    collections = Collections(tmp_path / "studio", max_images=3)
    added = collections.add(None, [zipped], [uploads])
    assert added.name == "my-masks" and added.added == 3
    assert any("holds at most 3" in line for line in added.refused), added.refused

    many = archive(uploads / "many.zip", {f"{i}.txt": b"" for i in range(12)})
    monkeypatch.setattr(collections_module, "MAX_MEMBERS", 10)
    assert collections.add("other", [many], [uploads]).refused == [
        "many.zip: 12 files; an archive may hold at most 10"
    ]
    # Past 65535 members the count is in the zip64 end record: written here for 12 members
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 10)
    big = archive(uploads / "zip64.zip", {f"{i}.txt": b"" for i in range(12)})
    assert big.read_bytes().count(b"PK\x06\x06") == 1
    assert collections.add("other", [big], [uploads]).refused == [
        "zip64.zip: 12 files; an archive may hold at most 10"
    ]
    broken = uploads / "broken.zip"
    broken.write_bytes(b"PK\3\4 not really a zip")
    assert "not a readable .zip" in collections.add("other", [broken], [uploads]).refused[0]
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(png_bytes(masks[0]))
    with pytest.raises(MaskgenError, match="only files uploaded to this page"):
        collections.add("other", [outside], [uploads])
    with pytest.raises(MaskgenError, match="nothing uploaded"):
        collections.add("other", [], [uploads])
    for bad in ("../up", "a/b", "-x", "x" * 41, "名字"):
        with pytest.raises(MaskgenError, match="collection name"):
            check_name(bad)
    with pytest.raises(MaskgenError, match="has no pictures yet"):
        collections.check("empty", 32)


def test_a_disk_that_refuses_writes_is_one_line(masks, tmp_path: Path, monkeypatch) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    zipped = archive(uploads / "two.zip", {f"m{i}.png": png_bytes(m) for i, m in enumerate(masks[:2])})

    def full(self: Path, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    added = Collections(tmp_path / "studio").add("full", [zipped], [uploads])
    assert added.added == 0 and added.refused == [
        "two.zip:m0.png and the rest: cannot be written (No space left on device)"
    ]


def test_the_command_is_maskgen_run(tmp_path: Path) -> None:
    request = TrainingRequest(tmp_path / "c" / "images", tmp_path / "c", 64, 15, "apa", "off", "from scratch")
    assert request.arguments() == [
        "run", "--data", str(tmp_path / "c" / "images"), "--out", str(tmp_path / "c"),
        "--resolution", "64", "--minutes", "15", "--kimg", "1000000", "--augment", "apa",
        "--snapshot-kimg", "4", "-G", "symmetric=false", "--init", "none", "--quiet",
    ]  # fmt: skip
    assert "--init" not in TrainingRequest(tmp_path, tmp_path).arguments()  # the base model, if any
    for bad, fragment in (
        ({"resolution": 48}, "power of two"),
        ({"minutes": 0}, "minutes"),
        ({"mirror": "sideways"}, "mirror"),
        ({"start": "yesterday"}, "start"),
    ):
        with pytest.raises(MaskgenError, match=fragment):
            TrainingRequest(tmp_path, tmp_path, **bad).arguments()


def test_the_estimate_says_time_and_what_it_makes(tmp_path: Path) -> None:
    """Before a run starts the tab says how long it takes (the run's own time budget, plus the upscaler's
    minutes when the masks are large enough to teach it) and what it makes; with this machine's speed
    from an earlier run here, how many pictures that is."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    big = archive(
        uploads / "big.zip", {f"m{i}.png": png_bytes(m) for i, m in enumerate(render_masks(3, 256, 1)[0])}
    )
    small = archive(
        uploads / "small.zip", {f"m{i}.png": png_bytes(m) for i, m in enumerate(render_masks(3, 32, 1)[0])}
    )
    desk = TrainingDesk(Collections(tmp_path / "studio"), Catalogue(runs_root=None))
    assert desk.estimate("nothing-yet", 64, 15).startswith("**Before you start:** add pictures")
    desk.add("big", [big], [uploads])
    said = desk.estimate("big", 64, 15)
    assert "about 17 minutes on this machine, then it stops by itself: 15 minutes learning your masks" in said
    assert "then 2 minutes teaching the upscaler your masks at 256 px" in said
    assert "draws 64 px masks, and 256 px (print size) ones" in said and "pictures a second" not in said
    desk.add("small", [small], [uploads])
    said = desk.estimate("small", 64, 30)
    assert "about 30 minutes" in said and "teaching the upscaler" not in said
    assert "keeping 64 px masks: 100% of the pictures are smaller than 256 px" in said
    # An earlier run of this studio at 64 px trained at 40 pictures a second: 15 minutes show 36,000.
    run = tmp_path / "studio" / "big" / "00000-run"
    run.mkdir()
    (run / "config.json").write_text('{"resolution": 64}')
    (run / "metrics.jsonl").write_text('{"kimg": 1.0, "images_per_second": 40.0}\n')
    said = desk.estimate("big", 64, 15)
    assert "your last run here trained at 40 pictures a second: about 36,000 shown" in said
    assert "first samples show after about 2 minutes" in said  # a snapshot every 4 kimg
    assert "pictures a second" not in desk.estimate("big", 128, 15)  # that speed was at 64 px
    with pytest.raises(MaskgenError, match="Minutes of training goes from 1 to 240; 0 is outside that"):
        desk.estimate("big", 64, 0)


def test_the_check_in_plain_words() -> None:
    """``dataset check``'s findings without its flags and commands (-G symmetric=auto, maskgen audit)."""
    small = ["b.png", "c.png", "d.png", "e.png"]
    report = CollectionReport(
        "masks", 64, True, 5, unreadable=["a.png"], smaller_than_resolution=small,
        on_plain_backdrop=4, duplicates=[{"a": "f.png", "b": "g.png", "rms": 0.01, "mirrored": True}],
        mirror=True, symmetric_images=4, checked_for_symmetry=5,
    )  # fmt: skip
    assert plain_report(report).splitlines() == [
        "**5 pictures** to learn at 64 px: 4 of 5 were found on a plain backdrop and framed. The model will "
        "be mirrored left to right (4 of 5 checked masks are symmetric).",
        "- Only 5 pictures: runs are measured on 300; with fewer, the model tends to repeat your masks "
        "instead of drawing new ones.",
        "- 1 cannot be read and will be left out (a.png).",
        "- 4 are smaller than 64 px, so they will look blurred (b.png, c.png, d.png and 1 more).",
        "- 1 pairs look like the same mask (f.png = g.png mirrored): keep one of each.",
    ]
    clean = CollectionReport("masks", 64, True, 300, on_plain_backdrop=300, checked_for_symmetry=64)
    assert plain_report(clean).endswith("The model will not be mirrored left to right (0 of 64 checked masks "
                                        "are symmetric).\n- No problems found.")  # fmt: skip


def test_the_status_in_plain_words(tmp_path: Path) -> None:
    assert TrainingStatus("idle").describe() == "No training started in this studio yet."
    said = TrainingStatus("training", tmp_path / "run", 1.25, 41.0, 150.0).describe()
    assert said.startswith(
        "**Training** for 2.5 minutes: 1,250 pictures shown to the model so far (41 a second)"
    )
    assert said.endswith(f"Its folder: `{tmp_path / 'run'}`")


def wait_for(job: TrainingJob, done, timeout: float = 240.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.status()
        if done(status):
            return status
        time.sleep(0.5)
    raise AssertionError(f"timed out; last status {status.describe()}")


@pytest.mark.slow
def test_a_run_trains_stops_continues_and_is_served(masks, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    zipped = archive(uploads / "masks.zip", {f"m{i}.png": png_bytes(m) for i, m in enumerate(masks)})
    catalogue = Catalogue(runs_root=None)
    desk = TrainingDesk(Collections(tmp_path / "runs" / "studio"), catalogue)
    desk.add("tiny", [zipped], [uploads])
    assert desk.poll()[0].state == "idle"

    with pytest.raises(MaskgenError, match="has no pictures yet"):
        desk.start("nothing-here", 16, 5, "ada", "auto", "from scratch")
    try:
        check_run(desk, catalogue)
    finally:
        desk.job.close(wait_s=30)  # a failed assertion must not leave a child training


def check_run(desk: TrainingDesk, catalogue: Catalogue) -> None:
    started = desk.start("tiny", 16, 5, "ada", "auto", "from scratch")
    assert started.running and started.command.startswith("maskgen run --data ")
    with pytest.raises(MaskgenError, match="stop it first"):
        desk.start("tiny", 16, 5, "ada", "auto", "from scratch")
    # Stop once the loop trains (it writes the reals' grid just before its first step): SIGINT then
    # checkpoints after the current step and stops.
    wait_for(desk.job, lambda s: s.state != "starting")
    time.sleep(2)
    assert desk.stop().state == "stopping"
    stopped = wait_for(desk.job, lambda s: not s.running)
    assert stopped.state == "stopped", stopped.describe()
    run = stopped.run_dir
    assert run is not None and stopped.grid == run / "samples" / "reals.png"
    snapshots = sorted((run / "checkpoints").glob("snapshot-*"))
    assert len(snapshots) == 1 and "goes on from where it was saved" in stopped.message
    # A real run's config.json is read for its size, as the estimate's speed lookup reads it.
    assert _run_resolution(run) == 16
    status, label = desk.poll()
    assert label == run.as_posix() and label in catalogue.labels(GAN)
    G = load_generator(catalogue.entry(label, GAN).path, torch.device("cpu"))[0]
    assert G.img_resolution == 16

    continued = desk.resume("tiny", 5)
    assert continued.running and continued.command.startswith("maskgen run --resume ")
    time.sleep(2)
    desk.stop()
    again = wait_for(desk.job, lambda s: not s.running)
    # Stopped wherever it was (reading the data or training): the run and its checkpoint are kept.
    assert again.state == "stopped" and again.run_dir == run, again.describe()
    assert desk.runs("tiny") == [run] and snapshots[0].is_dir()  # the same run; no new folder
    with pytest.raises(MaskgenError, match="no run is training"):
        desk.stop()


def test_the_train_tab_through_the_page_api(studio_server, masks, tmp_path: Path) -> None:
    gradio_client = pytest.importorskip("gradio_client", reason="the studio extra is not installed")
    client = gradio_client.Client(studio_server.url, verbose=False)
    zipped = archive(tmp_path / "masks.zip", {f"m{i}.png": png_bytes(m) for i, m in enumerate(masks)})
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    files = [gradio_client.handle_file(str(zipped)), gradio_client.handle_file(str(text))]

    added, report = client.predict("api-set", files, 32, api_name="/train_add")

    assert added.startswith("added 6 picture(s) to api-set; left out 1: notes.png") and "holds 6 now" in added
    assert "notes.png: is not a picture" in added
    # the collection's check, as `maskgen dataset check` words it
    assert report.startswith(
        "**6 pictures** to learn at 32 px: 6 of 6 were found on a plain backdrop and framed"
    )
    assert "- Only 6 pictures: runs are measured on 300" in report
    desk = studio_server.studio.training
    assert desk.collections.count("api-set") == 6
    assert client.predict("api-set", 64, api_name="/train_check").startswith(
        "**6 pictures** to learn at 64 px"
    )
    # idle, or the stopped run of another test of this session's studio: the page shows the job's status
    assert client.predict(api_name="/train_status")[0] == desk.job.status().describe()
    assert not desk.job.status().running
    for args, endpoint, fragment in (
        (("no-such-set", 32, 1, "ada", "auto", "base model"), "/train_start", "has no pictures yet"),
        (("../etc", 32), "/train_check", "collection name"),
        (("api-set", 32, 1, "ada", "sideways", "base model"), "/train_start", "sideways"),
        ((), "/train_stop", "no run is training"),
    ):
        with pytest.raises(Exception) as caught:
            client.predict(*args, api_name=endpoint)
        message = str(caught.value)
        assert fragment.lower() in message.lower() and "Traceback" not in message, message


def test_no_training_means_no_tab_and_no_endpoints(studio_models, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("gradio", reason="the studio extra is not installed: pip install 'maskgen[studio]'")
    from maskgen.studio.server import StudioConfig, create

    # create() points Gradio's upload area at this studio's temp folder, process-wide: put it back after
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "temp"))
    config = StudioConfig(
        checkpoints=[str(studio_models.generator)], temp_dir=tmp_path / "temp", runs_root=tmp_path / "runs",
        training=False,
    )  # fmt: skip
    page, studio = create(config)
    assert studio.training is None
    endpoints = {d.get("api_name") for d in page.config["dependencies"]}
    assert "generate" in endpoints and not {e for e in endpoints if e and e.startswith("train")}
    assert "Training is off" in str(page.config)
    assert not (tmp_path / "runs").exists()  # nothing written for training
