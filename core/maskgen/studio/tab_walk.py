"""The Walk tab: an animation that passes smoothly through masks, drawn at print size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from maskgen.studio.handlers import Studio
from maskgen.studio.ui import LONG, PIXELS, checked_slider, on_page, reporter, session
from maskgen.studio.words import FRAMES, SPEED, VARIETY

LEAD = (
    "Animate a smooth change from one mask to the next. Three masks are ready: press **Make the "
    "animation**, then try other numbers."
)


@dataclass
class WalkTab:
    seeds: gr.Textbox
    latents: gr.File
    frames: gr.Slider
    loop: gr.Checkbox
    speed: gr.Slider
    kind: gr.Radio
    variety: gr.Slider
    size: gr.Radio
    go: gr.Button
    stop: gr.Button
    image: gr.Image
    download: gr.DownloadButton
    note: gr.Markdown


def build() -> WalkTab:
    gr.Markdown(LEAD, elem_classes=["mg-lead"])
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            seeds = gr.Textbox(
                "3, 10, 21", label="Masks to pass through: their numbers", elem_id="walk-seeds",
                info="as in Generate; a range like 4-7 works too",
            )  # fmt: skip
            with gr.Row():
                go = gr.Button("Make the animation", variant="primary", elem_id="walk-button")
                stop = gr.Button("Cancel", variant="stop")
            note = gr.Markdown(elem_id="walk-note")
            frames = checked_slider(FRAMES, elem_id="walk-frames")
            loop = gr.Checkbox(False, label="Loop back to the first mask")
            speed = checked_slider(SPEED, label="Speed: frames per second", elem_id="walk-speed")
            variety = checked_slider(VARIETY, elem_id="walk-variety")
            size = gr.Radio([], value=None, label="Size", visible=False, elem_id="walk-size")
            kind = gr.Radio(["gif", "mp4"], value="gif", label="Download as")
            with gr.Accordion("Start from masks found in 'Find your mask'", open=False):
                latents = gr.File(
                    label="Their .npz files (the walk starts with them, then the numbers)",
                    file_types=[".npz"], file_count="multiple",
                )  # fmt: skip
        with gr.Column(scale=2):
            image = gr.Image(
                type="filepath", label="The animation", format="gif", elem_id="walk-image",
                **{**PIXELS, "height": 440},
            )  # fmt: skip
            download = gr.DownloadButton("Download the animation", visible=False, elem_id="walk-download")
    return WalkTab(seeds, latents, frames, loop, speed, kind, variety, size, go, stop, image, download, note)


def wire(studio: Studio, tab: WalkTab, model: gr.Dropdown, colour: gr.Dropdown) -> Any:
    """The events; returns the running walk (for the Cancel buttons)."""

    def walk(
        label: str,
        seeds: str,
        latents: list[str] | None,
        frames: Any,
        loop: bool,
        fps: Any,
        kind: str,
        variety: Any,
        colour: str,
        size: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio's way of asking for a progress bar
    ) -> tuple[Any, ...]:
        with studio.jobs.running(session(request), "the animation") as token:
            shown, download = studio.walk(
                label, seeds, latents or [], frames, bool(loop), fps, kind, variety, colour,
                token=token, progress=reporter(progress), size=size,
            )  # fmt: skip
        return str(shown), gr.update(value=str(download), visible=True), ""

    inputs = [model, tab.seeds, tab.latents, tab.frames, tab.loop, tab.speed, tab.kind, tab.variety, colour]
    return tab.go.click(
        on_page(walk, 3), [*inputs, tab.size], [tab.image, tab.download, tab.note],
        concurrency_id=LONG, concurrency_limit=1, api_visibility="private",
    )  # fmt: skip
