"""The studio's API (``gradio_client`` or plain HTTP): one named endpoint per tool, on hidden components.

The page's buttons say a refusal next to themselves (:func:`maskgen.studio.ui.on_page`); a program
calling the API wants an exception instead, so each endpoint here runs the same handler through
:func:`maskgen.studio.ui.raising`. The endpoints take plain values (a checkpoint label or a path
inside the served folders, numbers, file uploads), as they did before the page spoke plain words:
``/generate``, ``/mix``, ``/project``, ``/walk``, ``/colour`` (each with an optional last ``size``),
``/info``, ``/pull``, ``/cancel`` and the Train tab's ``/train_*``.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from maskgen.studio.handlers import Studio
from maskgen.studio.tab_train import Shown, desk_of
from maskgen.studio.ui import FAST, LONG, TRAIN, raising, reporter, session


def build(studio: Studio, about: Any) -> None:
    """Register the endpoints (inside the page's Blocks). ``about``: the model line's function."""
    with gr.Column(visible=False):
        _tools(studio, about)
        if studio.training is not None:
            _training(studio)


def _text(value: str = "") -> gr.Textbox:
    return gr.Textbox(value)


def _tools(studio: Studio, about: Any) -> None:
    fast = {"concurrency_id": FAST, "concurrency_limit": 2}
    long_work = {"concurrency_id": LONG, "concurrency_limit": 1}

    def info(label: str) -> str:
        return about(studio.info(label))

    gr.Button().click(raising(info), _text(), gr.Markdown(), api_name="info", **fast)

    def generate(
        label: str, seed: float, truncation: float, class_name: str, count: float, size: str = ""
    ) -> tuple[str, str, str]:
        drawn = studio.generate(label, seed, truncation, class_name or None, count, size)
        return str(drawn.grid), str(drawn.grid), drawn.describe(label)

    gr.Button().click(
        raising(generate), [_text(), gr.Number(), gr.Number(), _text(), gr.Number(), _text()],
        [gr.Image(type="filepath", format="png"), gr.File(), gr.Markdown()], api_name="generate", **fast,
    )  # fmt: skip

    def mix(
        label: str,
        seed_a: float,
        latent_a: str | None,
        seed_b: float,
        latent_b: str | None,
        crossover: float,
        truncation: float,
        class_name: str,
        size: str = "",
    ) -> tuple[str, str]:
        mixed = studio.mix(
            label, seed_a, seed_b, crossover, truncation, class_name or None, latent_a, latent_b, size
        )
        return str(mixed.mix), str(mixed.grid)

    gr.Button().click(
        raising(mix),
        [_text(), gr.Number(), gr.File(), gr.Number(), gr.File(), gr.Number(), gr.Number(), _text(), _text()],
        [gr.Image(type="filepath", format="png"), gr.Image(type="filepath", format="png")],
        api_name="mix", **fast,
    )  # fmt: skip

    def project(
        label: str,
        target: str | None,
        steps: float,
        seed: float,
        noise: str,
        wplus: bool,
        size: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio's way of asking for a progress bar
    ) -> tuple[str, str, str]:
        with studio.jobs.running(session(request), "projection") as token:
            paths, summary = studio.project(
                label, target, steps, seed, bool(wplus), noise, token=token, progress=reporter(progress),
                size=size,
            )  # fmt: skip
        return str(paths["side_by_side"]), str(paths["w"]), summary

    projecting = gr.Button().click(
        raising(project),
        [_text(), gr.File(), gr.Number(), gr.Number(), _text("fixed"), gr.Checkbox(), _text()],
        [gr.Image(type="filepath", format="png"), gr.File(), gr.Markdown()], api_name="project", **long_work,
    )  # fmt: skip

    def walk(
        label: str,
        seeds: str,
        latents: list[str] | None,
        frames: float,
        loop: bool,
        fps: float,
        video_format: str,
        truncation: float,
        class_name: str,
        size: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[str, str]:
        with studio.jobs.running(session(request), "walk") as token:
            shown, download = studio.walk(
                label, seeds, latents or [], frames, bool(loop), fps, video_format, truncation,
                class_name or None, token=token, progress=reporter(progress), size=size,
            )  # fmt: skip
        return str(shown), str(download)

    walking = gr.Button().click(
        raising(walk),
        [_text(), _text(), gr.File(file_count="multiple"), gr.Number(), gr.Checkbox(), gr.Number(),
         _text("gif"), gr.Number(), _text(), _text()],
        [gr.Image(type="filepath", format="gif"), gr.File()], api_name="walk", **long_work,
    )  # fmt: skip

    def colour(
        translator: str,
        sketch: str | None,
        drawing: dict[str, Any] | None,
        extract: bool,
        reference: str | None,
        builtin: float,
        size: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        from maskgen.studio.tab_colour import drawn_lines

        with studio.jobs.running(session(request), "colouring") as token:
            seen, out, warp, note = studio.colour(
                translator, sketch, drawn_lines(drawing), bool(extract), reference, builtin, token=token,
                progress=reporter(progress), size=size,
            )  # fmt: skip
        return str(seen), str(out), (str(warp) if warp else None), note

    colouring = gr.Button().click(
        raising(colour),
        [_text(), gr.File(), gr.ImageEditor(type="numpy"), gr.Checkbox(), gr.File(), gr.Number(0), _text()],
        [gr.Image(type="filepath", format="png") for _ in range(3)] + [gr.Markdown()],
        api_name="colour", **long_work,
    )  # fmt: skip

    def cancel(request: gr.Request) -> str:
        count = studio.jobs.cancel(session(request))
        return f"cancelling {count} job(s) of this page" if count else "nothing of this page is running"

    gr.Button().click(
        raising(cancel), None, gr.Markdown(), api_name="cancel", queue=False,
        cancels=[projecting, walking, colouring],
    )  # fmt: skip

    def pull(reference: str) -> str:
        entry = studio.pull(reference)
        return f"pulled {entry.label} into {entry.path}"

    gr.Button().click(raising(pull), _text(), gr.Markdown(), api_name="pull", **long_work)


def _training(studio: Studio) -> None:
    desk = desk_of(studio)
    shown = Shown(studio)
    training = {"concurrency_id": TRAIN, "concurrency_limit": 1}

    def status_of(status: Any) -> tuple[Any, ...]:
        grid, command, _, said = shown(status)
        return said, grid, command

    run = [gr.Markdown(), gr.Image(type="filepath", format="png"), gr.Markdown()]

    def train_add(name: str, uploads: list[str] | None, resolution: float) -> tuple[str, str]:
        added = desk.add(name, uploads or [], studio.upload_roots)
        return added, desk.check(name, int(resolution))

    gr.Button().click(
        raising(train_add), [_text(), gr.File(file_count="multiple"), gr.Number(64)],
        [gr.Markdown(), gr.Markdown()], api_name="train_add", **training,
    )  # fmt: skip

    def train_check(name: str, resolution: float) -> str:
        return desk.check(name, int(resolution))

    gr.Button().click(
        raising(train_check), [_text(), gr.Number(64)], gr.Markdown(), api_name="train_check", **training
    )

    def train_estimate(name: str, resolution: float, minutes: float) -> str:
        return desk.estimate(name, resolution, minutes)

    gr.Button().click(
        raising(train_estimate), [_text(), gr.Number(64), gr.Number(15)], gr.Markdown(),
        api_name="train_estimate", queue=False,
    )  # fmt: skip

    def train_start(
        name: str, resolution: float, minutes: float, augment: str, mirror: str, start: str
    ) -> tuple[Any, ...]:
        return status_of(desk.start(name, int(resolution), minutes, augment, mirror, start))

    gr.Button().click(
        raising(train_start), [_text(), gr.Number(64), gr.Number(15), _text("ada"), _text("auto"),
                               _text("base model")],
        run, api_name="train_start", **training,
    )  # fmt: skip

    def train_resume(name: str, minutes: float) -> tuple[Any, ...]:
        return status_of(desk.resume(name, minutes))

    gr.Button().click(
        raising(train_resume), [_text(), gr.Number(15)], run, api_name="train_resume", **training
    )

    def train_stop() -> tuple[Any, ...]:
        return status_of(desk.stop())

    gr.Button().click(raising(train_stop), None, run, api_name="train_stop", queue=False)

    def train_status() -> tuple[Any, ...]:
        return status_of(desk.poll()[0])

    gr.Button().click(raising(train_status), None, run, api_name="train_status", queue=False)
