"""The "Colour a sketch" tab: lines (uploaded, or drawn on a canvas that opens at 100% with the pen
ready) coloured after a reference picked by clicking a built-in mask, or uploaded; the result at print
size through the shipped upscaler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from maskgen.studio.catalogue import TRAIN_TRANSLATOR_HINT, TRANSLATOR
from maskgen.studio.handlers import Studio, size_label
from maskgen.studio.ui import (
    FAST,
    IMAGE_TYPES,
    LONG,
    PIXELS,
    checked_upload,
    on_page,
    problem,
    reporter,
    said,
    session,
)
from maskgen.studio.uploads import check_image

LEAD = (
    "Colour a line drawing after a reference mask. Lines and colours are ready: press **Colour it**. "
    "Then upload or draw your own lines, and click a mask below for its colours."
)
CANVAS = 384  # px; the canvas box is this plus the toolbar, so it opens at 100%
CANVAS_TOOLBAR = 62
# A click on the canvas's Brush button when the tab opens: the pen is ready (Gradio has no option).
PEN_READY = """() => { setTimeout(() => {
  const brush = document.querySelector('#colour-canvas button[aria-label="Brush"]');
  if (brush && !brush.classList.contains('selected')) brush.click();
}, 400); }"""


@dataclass
class ColourTab:
    translator: gr.Dropdown
    sketch: gr.File
    sketch_note: gr.Markdown
    sketch_view: gr.Image
    drawing: gr.Sketchpad
    references: gr.Gallery
    chosen: gr.State
    reference: gr.File
    reference_note: gr.Markdown
    in_use: gr.Image
    size: gr.Radio
    go: gr.Button
    stop: gr.Button
    result: gr.Image
    seen: gr.Image
    warped: gr.Image
    note: gr.Markdown


def reference_label(index: int | None) -> str:
    if index is None:
        return "Colours from: your picture (it replaces the built-in choice)"
    return f"Colours from: built-in mask {index + 1}"


def build(studio: Studio) -> ColourTab:
    choices = studio.catalogue.choices(TRANSLATOR)
    default = studio.catalogue.default(TRANSLATOR)
    gr.Markdown(LEAD, elem_classes=["mg-lead"])
    if not choices:
        gr.Markdown(TRAIN_TRANSLATOR_HINT, elem_classes=["mg-hint"])
    sizes = _sizes(studio, default)
    references = studio.builtin_references()
    with gr.Row():
        translator = gr.Dropdown(
            choices, value=default, label="Colouring model", elem_id="translator", scale=3,
            info="engineers: the translator checkpoint (CoCosNet)",
        )  # fmt: skip
        size = gr.Radio(
            [size_label(s) for s in sizes], value=size_label(sizes[-1]) if sizes else None, label="Size",
            visible=len(sizes) > 1, elem_id="colour-size", scale=2,
            info="print size is enlarged by the shipped upscaler",
        )  # fmt: skip
    with gr.Row():
        with gr.Column():
            gr.Markdown("**1. The lines.** A picture of a painted mask works too: it is turned into lines.")
            sketch = gr.File(
                value=str(studio.example_sketch()), label="A line drawing", file_types=IMAGE_TYPES,
                elem_id="sketch-file",
            )  # fmt: skip
            sketch_note = gr.Markdown(elem_id="sketch-note")
            sketch_view = gr.Image(
                str(studio.example_sketch()), label="The picture to colour", interactive=False, height=180,
                buttons=[], elem_id="sketch-view",
            )  # fmt: skip
            drawing = gr.Sketchpad(
                label="...or draw here (a drawing is coloured instead of the picture)", type="numpy",
                image_mode="RGBA", elem_id="colour-canvas",
                canvas_size=(CANVAS, CANVAS), height=CANVAS + CANVAS_TOOLBAR, layers=False, transforms=(),
                brush=gr.Brush(default_size=3, colors=["#000000"], color_mode="fixed"),
            )  # fmt: skip
        with gr.Column():
            gr.Markdown("**2. The colours.** Click a mask, or upload your own reference.")
            gallery = gr.Gallery(
                [(str(p), str(i + 1)) for i, p in enumerate(references)], label="Built-in masks",
                columns=8, height=230, allow_preview=False, object_fit="contain", interactive=False,
                buttons=[], elem_id="reference-gallery", elem_classes=["mg-refs"],
            )  # fmt: skip
            chosen = gr.State(0)
            with gr.Row():
                in_use = gr.Image(
                    str(references[0]), label=reference_label(0), interactive=False, height=180,
                    elem_id="reference-in-use", buttons=[],
                )  # fmt: skip
                with gr.Column():
                    reference = gr.File(
                        label="Your reference", file_types=IMAGE_TYPES, elem_id="reference-file"
                    )
                    reference_note = gr.Markdown(elem_id="reference-note")
            with gr.Row():
                go = gr.Button("Colour it", variant="primary", elem_id="colour-button")
                stop = gr.Button("Cancel", variant="stop")
            note = gr.Markdown(elem_id="colour-note")
            result = gr.Image(
                type="filepath", format="png", label="The coloured mask", elem_id="colour-result",
                **{**PIXELS, "height": 400},
            )  # fmt: skip
    with gr.Accordion("How it got there", open=False):
        with gr.Row():
            seen = gr.Image(type="filepath", format="png", label="The lines as the model read them", **PIXELS)
            warped = gr.Image(
                type="filepath", format="png", label="The reference fitted to the lines (the warp)",
                **PIXELS,
            )  # fmt: skip
    return ColourTab(
        translator, sketch, sketch_note, sketch_view, drawing, gallery, chosen, reference,
        reference_note, in_use, size, go, stop, result, seen, warped, note,
    )  # fmt: skip


def _sizes(studio: Studio, translator: str | None) -> list[int]:
    if translator is None:
        return []
    try:
        return studio.colour_sizes(translator)
    except Exception:  # a broken translator is said when it is used, not while the page is built
        return []


def wire(studio: Studio, tab: ColourTab, opened: gr.Tab) -> Any:
    """The events; returns the running colouring (for the Cancel buttons)."""
    roots, pixels = studio.upload_roots, studio.limits.max_pixels
    checked_upload(tab.sketch, tab.sketch_note, roots, pixels, "sketch", tab.sketch_view)
    quick = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
    opened.select(None, None, None, js=PEN_READY, **quick)
    references = studio.builtin_references()

    def pick(evt: gr.SelectData) -> tuple[Any, ...]:
        index = int(evt.index)
        return index, None, gr.update(value=str(references[index]), label=reference_label(index)), ""

    tab.references.select(pick, None, [tab.chosen, tab.reference, tab.in_use, tab.reference_note], **quick)

    def uploaded(path: str | None, index: int) -> tuple[Any, ...]:
        """The upload check, then the upload shown as the reference in use (never before the check)."""
        builtin = gr.update(value=str(references[index]), label=reference_label(index))
        if not path:
            return gr.skip(), "", builtin
        try:
            info = check_image(path, roots, pixels, what="reference")
        except Exception as exc:
            return None, problem(said("upload", exc)), builtin
        shown = gr.update(value=str(info.path), label=reference_label(None))
        return gr.skip(), f"{info.width} x {info.height} pixels: ready.", shown

    reference_outputs = [tab.reference, tab.reference_note, tab.in_use]
    tab.reference.upload(uploaded, [tab.reference, tab.chosen], reference_outputs, **quick)
    tab.reference.clear(lambda index: uploaded(None, index), tab.chosen, reference_outputs, **quick)

    def sizes(label: str) -> Any:
        found = studio.colour_sizes(label)
        labels = [size_label(s) for s in found]
        return gr.update(choices=labels, value=labels[-1], visible=len(labels) > 1), ""

    tab.translator.change(
        on_page(sizes, 2), tab.translator, [tab.size, tab.note], concurrency_id=FAST, api_visibility="private"
    )

    def colour(
        translator: str,
        sketch: str | None,
        drawing: dict[str, Any] | None,
        reference: str | None,
        builtin: int,
        size: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio's way of asking for a progress bar
    ) -> tuple[Any, ...]:
        drawn = drawn_lines(drawing)  # what is on the canvas wins: it is what the person just did
        upload = sketch if drawn is None else None
        with studio.jobs.running(session(request), "the colouring") as token:
            seen, out, warp, note = studio.colour(
                translator, upload, drawn, False, reference, builtin, token=token,
                progress=reporter(progress), size=size,
            )  # fmt: skip
        used = "Coloured your drawing. " if drawn is not None else ""
        return str(out), str(seen), (str(warp) if warp else None), used + note

    inputs = [tab.translator, tab.sketch, tab.drawing, tab.reference, tab.chosen, tab.size]
    return tab.go.click(
        on_page(colour, 4), inputs, [tab.result, tab.seen, tab.warped, tab.note],
        concurrency_id=LONG, concurrency_limit=1, api_visibility="private",
    )  # fmt: skip


def drawn_lines(drawing: dict[str, Any] | None) -> np.ndarray | None:
    """The composite of a Sketchpad value, or None when nothing was drawn."""
    if not isinstance(drawing, dict):
        return None
    composite = drawing.get("composite")
    if composite is None:
        return None
    arr = np.asarray(composite)
    if arr.ndim == 3 and arr.shape[2] == 4 and not arr[..., 3].any():
        return None  # an empty canvas
    return arr
