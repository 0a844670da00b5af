"""The "Train on your masks" tab: a collection from uploads (or example masks), its check, what a run
will take and make (said before it starts), then one ``maskgen run`` at a time, watched as it trains."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from maskgen.errors import MaskgenError
from maskgen.studio.catalogue import GAN
from maskgen.studio.collections import DEFAULT_NAME
from maskgen.studio.examples import example_collection
from maskgen.studio.handlers import Studio
from maskgen.studio.training import TrainingDesk, TrainingStatus
from maskgen.studio.ui import IMAGE_TYPES, PIXELS, TRAIN, checked_slider, on_page
from maskgen.studio.words import MINUTES

POLL_S = 3.0  # how often an open page looks at the run it trains
TRAINING_OFF = "Training is off in this studio: whoever started it turned the Train tab off."
LEAD = (
    "Teach a model your own masks: add a few hundred pictures (one mask each, on a plain backdrop; a "
    ".zip is fine), look at the check, and press **Train**. No pictures at hand? **Add example masks** "
    "fills the collection with built-in ones."
)
EXAMPLES = 64  # built-in masks "Add example masks" puts in a collection
MIRROR = [
    ("when most of the masks are symmetric", "auto"),
    ("always", "on"),
    ("never (for crooked faces)", "off"),
]
START = [("the model shipped with maskgen (better on few masks)", "base model"), ("nothing", "from scratch")]


@dataclass
class TrainTab:
    collection: gr.Dropdown
    uploads: gr.File
    add_go: gr.Button
    example_go: gr.Button
    check_go: gr.Button
    added: gr.Markdown
    report: gr.Markdown
    resolution: gr.Dropdown
    minutes: gr.Slider
    augment: gr.Dropdown
    mirror: gr.Radio
    start: gr.Radio
    estimate: gr.Markdown
    go: gr.Button
    resume: gr.Button
    stop: gr.Button
    status: gr.Markdown
    grid: gr.Image
    command: gr.Markdown
    known: gr.State
    ticker: gr.Timer


def augmenter_names() -> list[str]:
    """The augmenters a run can use: 'none' and the installed plugins."""
    from maskgen.plugins.registry import get_registry

    return ["none", *get_registry().names("augmenter")]


def build(desk: TrainingDesk) -> TrainTab:
    gr.Markdown(LEAD, elem_classes=["mg-lead"])
    names = desk.collections.names()
    with gr.Row():
        with gr.Column():
            collection = gr.Dropdown(
                names, value=names[0] if names else DEFAULT_NAME, allow_custom_value=True,
                label="Collection: a new name starts a new one", elem_id="train-collection",
            )  # fmt: skip
            uploads = gr.File(
                label="Mask pictures, or .zip archives of them", file_count="multiple",
                file_types=[*IMAGE_TYPES, ".zip"], elem_id="train-uploads",
            )  # fmt: skip
            with gr.Row():
                add_go = gr.Button("Add to the collection", elem_id="train-add")
                example_go = gr.Button(f"Add {EXAMPLES} example masks", elem_id="train-examples")
                check_go = gr.Button("Check it", elem_id="train-check")
            added = gr.Markdown(elem_id="train-added")
            report = gr.Markdown(elem_id="train-report")
        with gr.Column():
            resolution = gr.Dropdown(
                [32, 64, 128, 256], value=64, label="Size the model learns (px)", elem_id="train-resolution",
                info="64 on a laptop: it starts from the shipped model and also learns print size (256 px); "
                "128 and 256 want a graphics card",
            )  # fmt: skip
            minutes = checked_slider(MINUTES, elem_id="train-minutes")
            with gr.Accordion("Advanced", open=False):
                augmenters = augmenter_names()
                augment = gr.Dropdown(
                    augmenters, value="ada" if "ada" in augmenters else augmenters[0],
                    label="Protection for small collections",
                    info="engineers: the augmenter in front of the discriminator (ADA by default)",
                )  # fmt: skip
                mirror = gr.Radio(
                    MIRROR, value="auto", label="Mirror the masks left to right",
                    info="engineers: mirror G exactly",
                )  # fmt: skip
                start = gr.Radio(START, value="base model", label="Start from")
            estimate = gr.Markdown(elem_id="train-estimate")
            with gr.Row():
                go = gr.Button("Train", variant="primary", elem_id="train-start")
                resume = gr.Button("Continue its last run", elem_id="train-resume")
                stop = gr.Button("Stop", variant="stop", elem_id="train-stop")
            status = gr.Markdown(elem_id="train-status")
            grid = gr.Image(
                type="filepath", format="png", label="What the run draws now", interactive=False,
                elem_id="train-grid", **PIXELS,
            )  # fmt: skip
            with gr.Accordion("The same run in a terminal", open=False):
                command = gr.Markdown(elem_id="train-command")
    known = gr.State(None)
    ticker = gr.Timer(POLL_S)
    return TrainTab(
        collection, uploads, add_go, example_go, check_go, added, report, resolution, minutes, augment,
        mirror, start, estimate, go, resume, stop, status, grid, command, known, ticker,
    )  # fmt: skip


class Shown:
    """A run's status as the page shows it; its sample grid copied into the temp area once per version."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.grids: dict[tuple[str, int], Path] = {}

    def __call__(self, status: TrainingStatus, label: str | None = None) -> tuple[Any, ...]:
        grid = None
        if status.grid is not None:
            try:
                key = (str(status.grid), status.grid.stat().st_mtime_ns)
            except OSError:
                key = None
            if key is not None and (key not in self.grids or not self.grids[key].is_file()):
                self.grids.clear()
                try:
                    self.grids[key] = self.studio.shown_copy(status.grid)
                except OSError:  # replaced or removed this instant: the next poll shows the new one
                    pass
            grid = str(self.grids[key]) if key in self.grids else None
        command = f"`{status.command}`" if status.command else ""
        listed = gr.update(choices=self.studio.catalogue.choices(GAN)) if label else gr.update()
        return grid, command, listed, status.describe()


def desk_of(studio: Studio) -> TrainingDesk:
    if studio.training is None:
        raise MaskgenError(TRAINING_OFF)
    return studio.training


def collection_choices(desk: TrainingDesk, value: str | None = None) -> Any:
    names = desk.collections.names()
    return gr.update(choices=names, value=value or (names[0] if names else DEFAULT_NAME))


def example_files(studio: Studio, count: int = EXAMPLES) -> list[Path]:
    """Built-in masks at print size as files in the temp area, to be added like uploads."""
    return example_collection(studio.new_folder(), count)


def wire(studio: Studio, tab: TrainTab, model: gr.Dropdown, page: gr.Blocks) -> None:
    desk = desk_of(studio)
    shown = Shown(studio)
    training = {"concurrency_id": TRAIN, "concurrency_limit": 1, "api_visibility": "private"}

    def add(name: str, uploads: list[str] | None, resolution: Any, minutes: Any) -> tuple[Any, ...]:
        added = desk.add(name, uploads or [], studio.upload_roots)
        report = desk.check(name, int(resolution))
        chosen = desk.collections.folder(name).name
        return (
            collection_choices(desk, chosen),
            None,
            report,
            desk.estimate(chosen, resolution, minutes),
            added,
        )

    def add_examples(name: str, resolution: Any, minutes: Any) -> tuple[Any, ...]:
        added = desk.add(name, example_files(studio), studio.upload_roots)
        report = desk.check(name, int(resolution))
        chosen = desk.collections.folder(name).name
        return collection_choices(desk, chosen), report, desk.estimate(chosen, resolution, minutes), added

    def check(name: str, resolution: Any, minutes: Any) -> tuple[Any, ...]:
        return desk.check(name, int(resolution)), desk.estimate(name, resolution, minutes), ""

    def estimate(name: str, resolution: Any, minutes: Any) -> Any:
        try:
            return desk.estimate(name, resolution, minutes)
        except MaskgenError:  # a bad name or minutes are said by the button that uses them
            return gr.skip()

    settings = [tab.collection, tab.resolution, tab.minutes]
    tab.add_go.click(
        on_page(add, 5), [tab.collection, tab.uploads, tab.resolution, tab.minutes],
        [tab.collection, tab.uploads, tab.report, tab.estimate, tab.added], **training,
    )  # fmt: skip
    tab.example_go.click(
        on_page(add_examples, 4), settings, [tab.collection, tab.report, tab.estimate, tab.added], **training
    )
    tab.check_go.click(on_page(check, 3), settings, [tab.report, tab.estimate, tab.added], **training)
    quick = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
    for control in (tab.collection, tab.resolution, tab.minutes):
        control.change(estimate, settings, tab.estimate, **quick)

    def start(
        name: str, resolution: Any, minutes: Any, augment: str, mirror: str, begin: str
    ) -> tuple[Any, ...]:
        return shown(desk.start(name, int(resolution), minutes, augment, mirror, begin))

    def resume(name: str, minutes: Any) -> tuple[Any, ...]:
        return shown(desk.resume(name, minutes))

    def stop() -> tuple[Any, ...]:
        return shown(desk.stop())

    run = [tab.grid, tab.command, model, tab.status]  # the status last: a refusal is said there
    tab.go.click(on_page(start, 4), [*settings, tab.augment, tab.mirror, tab.start], run, **training)
    tab.resume.click(on_page(resume, 4), [tab.collection, tab.minutes], run, **training)
    tab.stop.click(on_page(stop, 4), None, run, queue=False, api_visibility="private")
    tab.ticker.tick(
        lambda known: poll(desk, shown, known), tab.known, [*run, tab.known], queue=False,
        show_progress="hidden", api_visibility="private",
    )  # fmt: skip
    page.load(estimate, settings, tab.estimate, **quick)  # said before anything is pressed


def poll(desk: TrainingDesk, shown: Shown, known: str | None) -> tuple[Any, ...]:
    """Every open page looks at the run's own files (cheap, outside the queue)."""
    status, label = desk.poll()
    new = label if label and label != known else None
    return (*shown(status, new), label or known)
