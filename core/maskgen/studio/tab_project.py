"""The "Find your mask" tab (projection): the model's closest mask to an uploaded picture, shown large
beside it, with the found mask's file for Mix and Walk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from maskgen.studio.handlers import Studio
from maskgen.studio.ui import (
    IMAGE_TYPES,
    LONG,
    PIXELS,
    checked_slider,
    checked_upload,
    on_page,
    reporter,
    session,
)
from maskgen.studio.words import GRAIN_FIXED, GRAIN_FREE, SEARCH_STEPS

LEAD = (
    "Upload a picture of a mask: the studio searches the model for the closest mask it can draw, so you "
    "can mix it or animate it. An example is ready: press **Find it** (under a minute on a laptop)."
)


@dataclass
class ProjectTab:
    target: gr.File
    target_note: gr.Markdown
    target_view: gr.Image
    steps: gr.Slider
    grain: gr.Checkbox
    size: gr.Radio
    seed: gr.Number
    wplus: gr.Checkbox
    go: gr.Button
    stop: gr.Button
    image: gr.Image
    found: gr.File
    note: gr.Markdown
    to_mix: gr.Button
    to_walk: gr.Button


def build(studio: Studio) -> ProjectTab:
    gr.Markdown(LEAD, elem_classes=["mg-lead"])
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            target = gr.File(
                value=str(studio.example_target()), label="A picture of a mask", file_types=IMAGE_TYPES,
                elem_id="project-file",
            )  # fmt: skip
            target_note = gr.Markdown(elem_id="project-file-note")
            target_view = gr.Image(
                str(studio.example_target()), label="The picture to find", interactive=False, height=180,
                buttons=[], elem_id="project-file-view",
            )  # fmt: skip
            with gr.Row():
                go = gr.Button("Find it", variant="primary", elem_id="project-button")
                stop = gr.Button("Cancel", variant="stop")
            note = gr.Markdown(elem_id="project-note")
            steps = checked_slider(SEARCH_STEPS, maximum=studio.limits.max_steps, elem_id="project-steps")
            grain = gr.Checkbox(
                True, label="Keep the grain fixed",
                info="on: Mix and Walk show exactly the mask found (engineers: noise maps 'fixed', "
                "off: 'random')",
            )  # fmt: skip
            size = gr.Radio([], value=None, label="Size", visible=False, elem_id="project-size")
            with gr.Accordion("Advanced", open=False):
                seed = gr.Number(
                    0, label="Search number", precision=0, info="engineers: the projection's seed"
                )
                wplus = gr.Checkbox(
                    False, label="A closer match that is harder to mix",
                    info="engineers: W+, one latent per layer",
                )  # fmt: skip
        with gr.Column(scale=2):
            image = gr.Image(
                type="filepath", format="png", label="Your picture | the model's closest mask",
                elem_id="project-image", **{**PIXELS, "height": 420},
            )  # fmt: skip
            found = gr.File(label="The found mask, for Mix and Walk (.npz)", visible=False)
            with gr.Row():
                to_mix = gr.Button("Use it as mask A in Mix", visible=False)
                to_walk = gr.Button("Walk from it", visible=False)
    return ProjectTab(
        target,
        target_note,
        target_view,
        steps,
        grain,
        size,
        seed,
        wplus,
        go,
        stop,
        image,
        found,
        note,
        to_mix,
        to_walk,
    )


def wire(studio: Studio, tab: ProjectTab, model: gr.Dropdown) -> Any:
    """The events; returns the running search (for the Cancel buttons of every tab)."""
    roots, pixels = studio.upload_roots, studio.limits.max_pixels
    checked_upload(tab.target, tab.target_note, roots, pixels, "picture", tab.target_view)

    def project(
        label: str,
        target: str | None,
        steps: Any,
        seed: Any,
        grain: bool,
        wplus: bool,
        size: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio's way of asking for a progress bar
    ) -> tuple[Any, ...]:
        noise = GRAIN_FIXED if grain else GRAIN_FREE
        with studio.jobs.running(session(request), "the search") as token:
            paths, summary = studio.project(
                label, target, steps, seed, bool(wplus), noise, token=token, progress=reporter(progress),
                size=size,
            )  # fmt: skip
        shown = gr.update(visible=True)
        return (
            str(paths["side_by_side"]),
            gr.update(value=str(paths["w"]), visible=True),
            shown,
            shown,
            summary,
        )

    outputs = [tab.image, tab.found, tab.to_mix, tab.to_walk, tab.note]
    return tab.go.click(
        on_page(project, 5),
        [model, tab.target, tab.steps, tab.seed, tab.grain, tab.wplus, tab.size],
        outputs, concurrency_id=LONG, concurrency_limit=1, api_visibility="private",
    )  # fmt: skip
