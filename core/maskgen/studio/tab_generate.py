"""The Generate tab: "Random masks" first, the masks large in a gallery (a click opens one at full size),
a download per mask, and the whole grid as one PNG or a zip of the single masks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import gradio as gr

from maskgen.studio.handlers import AUTO_CLASS, Studio
from maskgen.studio.ui import FAST, checked_slider, on_page
from maskgen.studio.words import HOW_MANY, MASK_NUMBER, VARIETY

LEAD = (
    "Draw new masks. **Random masks** gives a fresh set; a mask's number draws the same mask again. "
    "Click a mask to see it at full size."
)
RANDOM_MAX = 999_999  # short numbers a person can note down; any number up to 2**32 - 1 may be typed
ANY_COLOUR = ("any (it varies from mask to mask)", AUTO_CLASS)


@dataclass
class GenerateTab:
    seed: gr.Number
    variety: gr.Slider
    count: gr.Slider
    colour: gr.Dropdown
    size: gr.Radio
    random_go: gr.Button
    go: gr.Button
    gallery: gr.Gallery
    grid: gr.DownloadButton
    archive: gr.DownloadButton
    note: gr.Markdown


def build(studio: Studio) -> GenerateTab:
    gr.Markdown(LEAD, elem_classes=["mg-lead"])
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            random_go = gr.Button("Random masks", variant="primary", size="lg", elem_id="gen-random")
            with gr.Row(equal_height=True):
                seed = gr.Number(
                    0, label=MASK_NUMBER.name, precision=0, elem_id="gen-seed", scale=2,
                    info="the same number draws the same masks (engineers: the seed)",
                )  # fmt: skip
            go = gr.Button("Draw these", elem_id="gen-button")
            note = gr.Markdown(elem_id="gen-note")
            variety = checked_slider(VARIETY, elem_id="gen-variety")
            count = checked_slider(HOW_MANY, maximum=studio.limits.max_grid, elem_id="gen-count")
            colour = gr.Dropdown(
                [ANY_COLOUR], value=AUTO_CLASS, label="Main colour", visible=False,
                info="engineers: the class of a conditional generator",
            )  # fmt: skip
            size = gr.Radio(
                [], value=None, label="Size", visible=False, elem_id="gen-size",
                info="print size is drawn by the model's upscaler",
            )  # fmt: skip
        with gr.Column(scale=3):
            gallery = gr.Gallery(
                label="Masks: click one to see it at full size", columns=4, height=470,
                object_fit="contain", buttons=["download", "fullscreen"], interactive=False,
                elem_id="gen-gallery", elem_classes=["mg-gallery"],
            )  # fmt: skip
            with gr.Row():
                grid = gr.DownloadButton(
                    "Download all as one picture (PNG)", visible=False, elem_id="gen-grid", size="md"
                )
                archive = gr.DownloadButton(
                    "Download each mask (zip)", visible=False, elem_id="gen-zip", size="md"
                )
    return GenerateTab(seed, variety, count, colour, size, random_go, go, gallery, grid, archive, note)


def wire(studio: Studio, tab: GenerateTab, model: gr.Dropdown) -> None:
    def draw(
        label: str, seed: Any, variety: Any, colour: str, count: Any, size: str | None
    ) -> tuple[Any, ...]:
        drawn = studio.generate(label, seed, variety, colour, count, size)
        shown = [(str(p), f"No. {s}") for p, s in zip(drawn.saved.singles, drawn.seeds, strict=True)]
        return (
            gr.update(value=shown, selected_index=None),
            drawn.seeds[0],
            gr.update(value=str(drawn.grid), visible=True),
            gr.update(value=str(drawn.saved.archive), visible=True),
            drawn.describe("the model").capitalize() + ".",
        )

    def draw_random(label: str, variety: Any, colour: str, count: Any, size: str | None) -> tuple[Any, ...]:
        return draw(label, random.randint(0, RANDOM_MAX), variety, colour, count, size)

    outputs = [tab.gallery, tab.seed, tab.grid, tab.archive, tab.note]
    settings = [tab.variety, tab.colour, tab.count, tab.size]
    fast = {"concurrency_id": FAST, "concurrency_limit": 2, "api_visibility": "private"}
    tab.random_go.click(on_page(draw_random, 5), [model, *settings], outputs, **fast)
    tab.go.click(on_page(draw, 5), [model, tab.seed, *settings], outputs, **fast)
    tab.seed.submit(on_page(draw, 5), [model, tab.seed, *settings], outputs, **fast)
