"""The Mix tab: the shape from mask A, the details from mask B, shown large beside both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from maskgen.studio.handlers import AUTO_CLASS, Studio
from maskgen.studio.ui import FAST, checked_slider, on_page
from maskgen.studio.words import MIX_POINT, VARIETY

LEAD = (
    "Mix two masks: **the shape from mask A, the details from mask B**. Two masks are ready: press "
    "**Mix**, then try other numbers."
)
EXAMPLE = (3, 10)  # two base-model masks of different colour and layout


@dataclass
class MixTab:
    seed_a: gr.Number
    seed_b: gr.Number
    latent_a: gr.File
    latent_b: gr.File
    point: gr.Slider
    variety: gr.Slider
    colour: gr.Dropdown
    size: gr.Radio
    go: gr.Button
    gallery: gr.Gallery
    download: gr.DownloadButton
    note: gr.Markdown


def build(studio: Studio, model: gr.Dropdown) -> MixTab:
    gr.Markdown(LEAD, elem_classes=["mg-lead"])
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                seed_a = gr.Number(EXAMPLE[0], label="Mask A: gives the shape", precision=0, elem_id="mix-a")
                seed_b = gr.Number(
                    EXAMPLE[1], label="Mask B: gives the details", precision=0, elem_id="mix-b"
                )
            go = gr.Button("Mix", variant="primary", elem_id="mix-button")
            note = gr.Markdown(elem_id="mix-note")

            def layers(label: Any) -> float:
                return float(studio.info(label).num_ws)

            point = checked_slider(
                MIX_POINT, top_from=(model, layers), elem_id="mix-point",
                info="low: B gives nearly everything; high: only B's finest details (engineers: the "
                "crossover layer)",
            )  # fmt: skip
            variety = checked_slider(VARIETY, elem_id="mix-variety")
            colour = gr.Dropdown([AUTO_CLASS], value=AUTO_CLASS, label="Main colour", visible=False)
            size = gr.Radio([], value=None, label="Size", visible=False, elem_id="mix-size")
            with gr.Accordion("Use a mask found in 'Find your mask'", open=False):
                latent_a = gr.File(label="Mask A: its .npz file", file_types=[".npz"], elem_id="mix-latent-a")
                latent_b = gr.File(label="Mask B: its .npz file", file_types=[".npz"], elem_id="mix-latent-b")
        with gr.Column(scale=3):
            gallery = gr.Gallery(
                label="A, B and the mix: click one to see it at full size", columns=3, height=440,
                object_fit="contain", buttons=["download", "fullscreen"], interactive=False,
                elem_id="mix-gallery", elem_classes=["mg-gallery"],
            )  # fmt: skip
            download = gr.DownloadButton("Download the mix (PNG)", visible=False, elem_id="mix-download")
    return MixTab(
        seed_a, seed_b, latent_a, latent_b, point, variety, colour, size, go, gallery, download, note
    )


def wire(studio: Studio, tab: MixTab, model: gr.Dropdown) -> None:
    def mix(
        label: str,
        seed_a: Any,
        latent_a: str | None,
        seed_b: Any,
        latent_b: str | None,
        point: Any,
        variety: Any,
        colour: str,
        size: str | None,
    ) -> tuple[Any, ...]:
        mixed = studio.mix(label, seed_a, seed_b, point, variety, colour, latent_a, latent_b, size)
        a = "the found mask A" if latent_a else f"mask {int(seed_a)}"
        b = "the found mask B" if latent_b else f"mask {int(seed_b)}"
        shown = [(str(mixed.a), f"A: {a}"), (str(mixed.b), f"B: {b}"), (str(mixed.mix), "the mix")]
        text = f"The shape of {a} with the details of {b}, at {mixed.size} px."
        return gr.update(value=shown, selected_index=2), gr.update(value=str(mixed.mix), visible=True), text

    inputs = [model, tab.seed_a, tab.latent_a, tab.seed_b, tab.latent_b, tab.point, tab.variety]
    inputs += [tab.colour, tab.size]
    tab.go.click(
        on_page(mix, 3), inputs, [tab.gallery, tab.download, tab.note],
        concurrency_id=FAST, concurrency_limit=2, api_visibility="private",
    )  # fmt: skip
