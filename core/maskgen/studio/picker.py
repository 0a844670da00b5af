"""The model list at the top of the page, and "Add a model" beside it.

The list holds what the studio serves (it cannot be typed into). Adding a model is its own action: a
folder inside the folders the studio serves, or ``hf://OWNER/REPO`` through the download cache; the
answer says what was added, or where the studio looked and why it refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from maskgen.studio.catalogue import GAN, TRAIN_HINT, TRANSLATOR
from maskgen.studio.handlers import GeneratorInfo, Studio, size_label
from maskgen.studio.ui import LONG, on_page


@dataclass
class Picker:
    model: gr.Dropdown
    about: gr.Markdown
    add_text: gr.Textbox
    add_go: gr.Button
    add_note: gr.Markdown


def about(info: GeneratorInfo) -> str:
    """The line under the model list: what it draws, in plain words."""
    line = f"Draws masks at {info.sizes[0]} px"
    if len(info.sizes) > 1:
        line += f", and at {size_label(info.sizes[-1])} through its upscaler"
    if info.classes:
        line += f"; main colours: {', '.join(info.classes)}"
    return line + "."


def size_choice(sizes: list[int]) -> Any:
    """A size radio's update for a model: every size it draws, set to the largest."""
    labels = [size_label(s) for s in sizes]
    return gr.update(choices=labels, value=labels[-1], visible=len(labels) > 1)


def build(studio: Studio) -> Picker:
    gans = studio.catalogue.choices(GAN)
    if not gans:
        gr.Markdown(TRAIN_HINT, elem_classes=["mg-hint"], elem_id="train-hint")
    with gr.Row(equal_height=False):
        model = gr.Dropdown(
            gans, value=studio.catalogue.default(GAN), label="Model", scale=3, elem_id="checkpoint",
            info="What draws the masks (engineers: the generator checkpoint). The recommended one draws "
            "the best masks.",
        )  # fmt: skip
        with gr.Column(scale=2):
            shown = gr.Markdown(elem_id="checkpoint-info")
            with gr.Accordion("Add a model", open=False, elem_id="add-model"):
                text = gr.Textbox(
                    label="Folder of a model, or a Hugging Face Hub name", elem_id="add-model-text",
                    placeholder="runs/my-run or hf://OWNER/REPO",
                    info=f"Folders only inside the ones this studio serves: {studio.catalogue.served()}",
                )  # fmt: skip
                go = gr.Button("Add", size="sm", elem_id="add-model-go")
                note = gr.Markdown(elem_id="add-model-note")
    return Picker(model, shown, text, go, note)


def wire(studio: Studio, picker: Picker, translator: gr.Dropdown) -> None:
    """The add action (it may add a colouring model: then the Colour tab's list gets it)."""

    def add(text: str) -> tuple[Any, ...]:
        entry = studio.add_model(text)
        kind = "model" if entry.kind == GAN else "colouring model (in the 'Colour a sketch' tab)"
        message = f"Added the {kind} {entry.label}."
        gan = (
            gr.update(choices=studio.catalogue.choices(GAN), value=entry.label)
            if entry.kind == GAN
            else gr.skip()
        )
        tr = (
            gr.update(choices=studio.catalogue.choices(TRANSLATOR), value=entry.label)
            if entry.kind == TRANSLATOR
            else gr.skip()
        )
        return gan, tr, message

    picker.add_go.click(
        on_page(add, 3), picker.add_text, [picker.model, translator, picker.add_note],
        api_visibility="private", concurrency_id=LONG,
    )  # fmt: skip
    picker.add_text.submit(
        on_page(add, 3), picker.add_text, [picker.model, translator, picker.add_note],
        api_visibility="private", concurrency_id=LONG,
    )  # fmt: skip
