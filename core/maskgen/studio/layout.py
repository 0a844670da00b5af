"""The studio's page: the model list, a tab per tool, and the API, wired to
:mod:`maskgen.studio.handlers`.

Each tab lives in its own module (``tab_generate``, ``tab_mix``, ``tab_project``, ``tab_walk``,
``tab_colour``, ``tab_train``); this one puts them on one page and wires what crosses tabs: the model
chosen at the top (its sizes, colours and layers reach every drawing tab), the found mask handed from
"Find your mask" to Mix and Walk, and the Cancel buttons. The page's buttons say a refusal next to
themselves in plain words (:mod:`maskgen.studio.ui`); the API endpoints (:mod:`maskgen.studio.endpoints`)
raise it. Fast work (generate, mix) and long work (find, walk, colour) run in separate concurrency
groups, so a search never holds up someone generating; both wait in one bounded queue (see
:mod:`maskgen.studio.server`).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from maskgen.studio import (
    endpoints,
    picker,
    tab_colour,
    tab_generate,
    tab_mix,
    tab_project,
    tab_train,
    tab_walk,
)
from maskgen.studio.handlers import Studio
from maskgen.studio.tab_generate import ANY_COLOUR
from maskgen.studio.ui import CSS, FAST, on_page, session

__all__ = ["CSS", "build"]
HEADER = (
    "# maskgen studio\n"
    "New Peking-opera face masks (lianpu) from a trained model: draw new ones, mix them, animate "
    "them, colour a line drawing, or teach a model your own masks. The recommended model (trained on "
    "maskgen's built-in masks) is ready: start with **Random masks**."
)


def build(studio: Studio, title: str = "maskgen studio") -> gr.Blocks:
    """The page, with its API endpoints named after the tools (``/generate``, ``/mix``, ...)."""
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.Markdown(HEADER)
        top = picker.build(studio)
        with gr.Tabs() as tabs:
            with gr.Tab("Generate", id="generate", render_children=True):
                generate = tab_generate.build(studio)
            with gr.Tab("Mix", id="mix", render_children=True):
                mix = tab_mix.build(studio, top.model)
            with gr.Tab("Find your mask", id="project", render_children=True):
                project = tab_project.build(studio)
            with gr.Tab("Walk", id="walk", render_children=True):
                walk = tab_walk.build()
            with gr.Tab("Colour a sketch", id="colour", render_children=True) as colour_tab:
                colour = tab_colour.build(studio)
            with gr.Tab("Train on your masks", id="train", render_children=True):
                if studio.training is None:
                    gr.Markdown(tab_train.TRAINING_OFF, elem_classes=["mg-hint"])
                    train = None
                else:
                    train = tab_train.build(studio.training)

        # The API first: its names (/generate, /mix, ...) are taken before the page's own events get theirs.
        endpoints.build(studio, picker.about)
        picker.wire(studio, top, colour.translator)
        tab_generate.wire(studio, generate, top.model)
        tab_mix.wire(studio, mix, top.model)
        searching = tab_project.wire(studio, project, top.model)
        walking = tab_walk.wire(studio, walk, top.model, generate.colour)
        colouring = tab_colour.wire(studio, colour, colour_tab)
        if train is not None:
            tab_train.wire(studio, train, top.model, page)

        # The model chosen at the top: what it draws, for every drawing tab.
        def chosen(label: str | None) -> tuple[Any, ...]:
            # A fresh update per output: gradio consumes an update while applying it.
            if not label:
                hidden = [
                    gr.update(choices=[ANY_COLOUR], value=ANY_COLOUR[1], visible=False) for _ in range(2)
                ]
                nothing = [gr.update(choices=[], value=None, visible=False) for _ in range(4)]
                return *hidden, gr.update(), *nothing, ""
            info = studio.info(label)
            colours = [ANY_COLOUR, *((c, c) for c in info.classes)]
            choice = [
                gr.update(choices=colours, value=ANY_COLOUR[1], visible=bool(info.classes)) for _ in range(2)
            ]
            point = gr.update(maximum=info.num_ws, value=min(4, info.num_ws))
            sizes = [picker.size_choice(info.sizes) for _ in range(4)]
            return *choice, point, *sizes, picker.about(info)

        sizes = [generate.size, mix.size, project.size, walk.size]
        model_outputs = [generate.colour, mix.colour, mix.point, *sizes, top.about]
        for trigger in (top.model.change, page.load):
            trigger(on_page(chosen, len(model_outputs)), top.model, model_outputs, concurrency_id=FAST,
                    api_visibility="private")  # fmt: skip

        # The found mask goes on to Mix (as A) and Walk (first), with the tab opened.
        project.to_mix.click(
            lambda path: (path, gr.Tabs(selected="mix")), project.found, [mix.latent_a, tabs],
            queue=False, api_visibility="private",
        )  # fmt: skip
        project.to_walk.click(
            lambda path: ([path] if path else None, gr.Tabs(selected="walk")), project.found,
            [walk.latents, tabs], queue=False, api_visibility="private",
        )  # fmt: skip

        # Cancel stops this page's running job at its next step (jobs.Token) and drops a queued one.
        def cancel(request: gr.Request) -> str:
            count = studio.jobs.cancel(session(request))
            return f"Cancelling {count} job(s) of this page." if count else "Nothing of this page is running."

        for button, note in (
            (project.stop, project.note),
            (walk.stop, walk.note),
            (colour.stop, colour.note),
        ):
            button.click(
                cancel,
                None,
                note,
                queue=False,
                cancels=[searching, walking, colouring],
                api_visibility="private",
            )
    return page
