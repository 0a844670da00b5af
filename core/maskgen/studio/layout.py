"""The studio's page: one Gradio Blocks with a tab per tool, wired to :mod:`maskgen.studio.handlers`.

Every event goes through :func:`shown`, which turns a :class:`MaskgenError` into a message in the page
(``gr.Error``) and any other exception into a short "internal error" message, with the traceback in
the server's log only: a user never sees a stack trace. Fast work (generate, mix) and long work
(project, walk, colour) run in separate concurrency groups, so a projection never holds up someone
generating; both wait in one bounded queue (see :mod:`maskgen.studio.server`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from maskgen.errors import MaskgenError
from maskgen.images import SEED_MAX
from maskgen.studio.catalogue import GAN, TRAIN_HINT, TRAIN_TRANSLATOR_HINT, TRANSLATOR
from maskgen.studio.collections import DEFAULT_NAME
from maskgen.studio.handlers import (
    AUTO_CLASS,
    BUILTIN_REFERENCES,
    Studio,
    builtin_reference_sheet,
    size_label,
)
from maskgen.studio.jobs import Cancelled
from maskgen.studio.training import MIRROR_CHOICES, START_CHOICES, TrainingDesk, TrainingStatus

log = logging.getLogger("maskgen.studio")
IMAGE_TYPES = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"]
FAST, LONG, TRAIN = "fast", "long", "train"  # concurrency groups
POLL_S = 3.0  # how often an open page looks at the run it trains
TRAINING_OFF = "Training is off in this studio (it was started with `--no-training`)."
TRAIN_INTRO = (
    "Upload a few hundred pictures of masks (one mask each, on a plain backdrop; a `.zip` is fine), "
    "check them, and train. A run here is `maskgen run` on the collection, shown below as a command; "
    "its samples appear as it trains, and its checkpoint joins the generator list above after the "
    "first snapshot. One run at a time: it takes every core of this machine."
)
# Masks are small (16-256 px): show them large, with sharp pixels instead of a blur.
CSS = """
.mg-hint {color: #a15c00;}
.mg-pixels img {image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain;}
"""
PIXELS = {"elem_classes": ["mg-pixels"], "height": 300}


def shown(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a handler; errors become one message in the page, never a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Cancelled as exc:
            raise gr.Error(str(exc), title="Cancelled", print_exception=False) from None
        except MaskgenError as exc:
            log.info("refused: %s", exc)
            raise gr.Error(" ".join(str(exc).split()), print_exception=False) from None
        except MemoryError:
            raise gr.Error("out of memory: ask for fewer or smaller images", print_exception=False) from None
        except gr.Error:
            raise
        except Exception as exc:  # a bug: keep the traceback for the log, show one line
            log.exception("internal error in %s", fn.__name__)
            raise gr.Error(
                f"internal error ({type(exc).__name__}); the studio's log has the details",
                print_exception=False,
            ) from None

    wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]  # gradio reads it
    return wrapper


def _session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)


def _progress(progress: gr.Progress) -> Callable[[float, str], None]:
    return lambda fraction, text: progress(fraction, desc=text)


def build(studio: Studio, title: str = "maskgen studio") -> gr.Blocks:
    """The page, with its API endpoints named after the tabs (``/generate``, ``/mix``, ...)."""
    jobs = studio.jobs
    gans = studio.catalogue.labels(GAN)
    translators = studio.catalogue.labels(TRANSLATOR)
    sheet = builtin_reference_sheet(studio.new_folder())

    # -- handlers with the page's argument order -----------------------------------------------------

    @shown
    def on_checkpoint(label: str | None) -> tuple[Any, ...]:
        if not label:
            hidden = gr.update(choices=[AUTO_CLASS], value=AUTO_CLASS, visible=False)
            return "", hidden, hidden, gr.update(), gr.update(choices=[], value=None, visible=False)
        info = studio.info(label)
        classes = [AUTO_CLASS, *info.classes]
        shown_classes = gr.update(choices=classes, value=AUTO_CLASS, visible=bool(info.classes))
        larger = (
            f" ({', '.join(f'{s} px' for s in info.sizes[1:])} with its upscaler)" if info.sizes[1:] else ""
        )
        text = f"**{info.label}**: {info.resolution} px{larger}, {info.num_ws} style layers, " + (
            f"conditional on {', '.join(info.classes)}" if info.classes else "unconditional"
        )
        crossover = gr.update(maximum=info.num_ws, value=min(4, info.num_ws))
        # Generate draws at the largest size the checkpoint can draw; a choice where there are several.
        labels = [size_label(s) for s in info.sizes]
        sizes = gr.update(choices=labels, value=labels[-1], visible=len(labels) > 1)
        return text, shown_classes, shown_classes, crossover, sizes

    @shown
    def generate(
        label: str, seed: float, truncation: float, class_name: str, count: float, size: str | None = None
    ) -> tuple[Any, ...]:
        path, seeds, drawn = studio.generate(label, seed, truncation, class_name, count, size)
        where = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
        return str(path), str(path), f"{where} of {label} at {drawn} px, truncation {float(truncation):g}"

    def random_seed() -> int:
        return random.randint(0, 2**31 - 1)

    @shown
    def mix(
        label: str,
        seed_a: float,
        latent_a: str | None,
        seed_b: float,
        latent_b: str | None,
        crossover: float,
        truncation: float,
        class_name: str,
    ) -> tuple[str, str]:
        mixed, grid = studio.mix(label, seed_a, seed_b, crossover, truncation, class_name, latent_a, latent_b)
        return str(mixed), str(grid)

    @shown
    def project(
        label: str,
        target: str | None,
        steps: float,
        seed: float,
        noise: str,
        wplus: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio's way of asking for a progress bar
    ) -> tuple[Any, ...]:
        with jobs.running(_session(request), "projection") as token:
            paths, summary = studio.project(
                label, target, steps, seed, bool(wplus), noise, token=token, progress=_progress(progress)
            )
        return str(paths["side_by_side"]), str(paths["w"]), summary

    @shown
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
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[str, str]:
        with jobs.running(_session(request), "walk") as token:
            shown_path, download = studio.walk(
                label, seeds, latents or [], frames, bool(loop), fps, video_format, truncation, class_name,
                token=token, progress=_progress(progress),
            )  # fmt: skip
        return str(shown_path), str(download)

    @shown
    def colour(
        translator: str,
        sketch: str | None,
        drawing: dict[str, Any] | None,
        extract: bool,
        reference: str | None,
        builtin: float,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        drawn = _drawn(drawing)
        with jobs.running(_session(request), "colouring") as token:
            seen, out, warp, note = studio.colour(
                translator,
                sketch,
                drawn,
                bool(extract),
                reference,
                builtin,
                token=token,
                progress=_progress(progress),
            )
        return str(seen), str(out), (str(warp) if warp else None), note

    @shown
    def cancel(request: gr.Request) -> str:
        count = jobs.cancel(_session(request))
        return f"cancelling {count} job(s) of this page" if count else "nothing of this page is running"

    @shown
    def pull(reference: str) -> tuple[Any, ...]:
        entry = studio.pull(reference)
        message = (
            f"pulled {entry.label} ({'generator' if entry.kind == GAN else 'translator'}) into {entry.path}"
        )
        gan_update = (
            gr.update(choices=studio.catalogue.labels(GAN), value=entry.label)
            if entry.kind == GAN
            else gr.update()
        )
        tr_update = (
            gr.update(choices=studio.catalogue.labels(TRANSLATOR), value=entry.label)
            if entry.kind == TRANSLATOR
            else gr.update()
        )
        return message, gan_update, tr_update

    desk = studio.training
    grids: dict[tuple[str, int], Path] = {}  # a run's sample grid, copied once per version

    def desk_or_refuse() -> TrainingDesk:
        if desk is None:
            raise MaskgenError(TRAINING_OFF)
        return desk

    def collection_choices(value: str | None = None) -> Any:
        names = desk_or_refuse().collections.names()
        return gr.update(choices=names, value=value or (names[0] if names else DEFAULT_NAME))

    @shown
    def train_add(name: str, uploads: list[str] | None, resolution: float) -> tuple[Any, ...]:
        added = desk_or_refuse().add(name, uploads or [], studio.upload_roots)
        report = desk_or_refuse().check(name, int(resolution))
        return added, report, collection_choices(name), None

    @shown
    def train_check(name: str, resolution: float) -> str:
        return desk_or_refuse().check(name, int(resolution))

    def shown_status(status: TrainingStatus, label: str | None = None) -> tuple[Any, ...]:
        grid = None
        if status.grid is not None:
            try:
                key = (str(status.grid), status.grid.stat().st_mtime_ns)
            except OSError:
                key = None
            if key is not None and (key not in grids or not grids[key].is_file()):
                grids.clear()
                try:
                    grids[key] = studio.shown_copy(status.grid)
                except OSError:  # replaced or removed this instant: the next poll shows the new one
                    pass
            grid = str(grids[key]) if key in grids else None
        command = f"`{status.command}`" if status.command else ""
        listed = gr.update(choices=studio.catalogue.labels(GAN)) if label else gr.update()
        return status.describe(), grid, command, listed

    @shown
    def train_start(
        name: str, resolution: float, minutes: float, augment: str, mirror: str, start: str
    ) -> tuple[Any, ...]:
        status = desk_or_refuse().start(name, int(resolution), minutes, augment, mirror, start)
        return shown_status(status)

    @shown
    def train_resume(name: str, minutes: float) -> tuple[Any, ...]:
        return shown_status(desk_or_refuse().resume(name, minutes))

    @shown
    def train_stop() -> tuple[Any, ...]:
        return shown_status(desk_or_refuse().stop())

    @shown
    def train_status(known: str | None) -> tuple[Any, ...]:
        status, label = desk_or_refuse().poll()
        new = label if label and label != known else None
        return (*shown_status(status, new), label or known)

    def latent_for_mix(path: str | None) -> Any:
        return path

    def latent_for_walk(path: str | None) -> Any:
        return [path] if path else None

    # -- the page -----------------------------------------------------------------------------------------

    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.Markdown(
            "# maskgen studio\nPeking-opera face masks from a trained StyleGAN2, and line drawings "
            "coloured after a reference. Same seed and settings give the same mask as `maskgen generate`."
        )
        if not gans:
            gr.Markdown(TRAIN_HINT, elem_classes=["mg-hint"], elem_id="train-hint")
        with gr.Row():
            checkpoint = gr.Dropdown(
                gans, value=gans[0] if gans else None, label="Generator checkpoint", allow_custom_value=True,
                scale=3, elem_id="checkpoint",
            )  # fmt: skip
            about = gr.Markdown(elem_id="checkpoint-info")

        with gr.Tabs():
            with gr.Tab("Generate", id="generate"):
                with gr.Row():
                    with gr.Column(scale=1):
                        with gr.Row():
                            seed = gr.Number(
                                0, label="Seed", precision=0, minimum=0, maximum=SEED_MAX, elem_id="gen-seed"
                            )
                            dice = gr.Button("Random", size="sm", scale=0)
                        truncation = gr.Slider(
                            -1, 2, value=1.0, step=0.05, label="Truncation psi (1: none, 0.7: typical)"
                        )
                        gen_class = gr.Dropdown([AUTO_CLASS], value=AUTO_CLASS, label="Class", visible=False)
                        count = gr.Slider(
                            1, studio.limits.max_grid, value=1, step=1, label="Masks (seed, seed+1, ...)"
                        )
                        gen_size = gr.Radio(
                            [], value=None, label="Size (the largest the checkpoint draws by default)",
                            visible=False, elem_id="gen-size",
                        )  # fmt: skip
                        go = gr.Button("Generate", variant="primary", elem_id="gen-button")
                    with gr.Column(scale=2):
                        gen_image = gr.Image(
                            type="filepath", format="png", label="Masks", elem_id="gen-image", **PIXELS
                        )
                        gen_file = gr.File(label="Download PNG")
                        gen_note = gr.Markdown(elem_id="gen-note")

            with gr.Tab("Mix", id="mix"):
                gr.Markdown(
                    "Coarse styles (layout, large shapes, main colour) from A, fine styles from B, "
                    "from the crossover layer on."
                )
                with gr.Row():
                    with gr.Column():
                        seed_a = gr.Number(0, label="Mask A: seed", precision=0, minimum=0, maximum=SEED_MAX)
                        latent_a = gr.File(label="or A: a projected latent (.npz)", file_types=[".npz"])
                    with gr.Column():
                        seed_b = gr.Number(1, label="Mask B: seed", precision=0, minimum=0, maximum=SEED_MAX)
                        latent_b = gr.File(label="or B: a projected latent (.npz)", file_types=[".npz"])
                    with gr.Column():
                        crossover = gr.Slider(
                            0, 16, value=4, step=1, label="Crossover layer (A below it, B from it on)"
                        )
                        mix_truncation = gr.Slider(-1, 2, value=1.0, step=0.05, label="Truncation psi")
                        mix_class = gr.Dropdown([AUTO_CLASS], value=AUTO_CLASS, label="Class", visible=False)
                        mix_go = gr.Button("Mix", variant="primary")
                with gr.Row():
                    mix_image = gr.Image(type="filepath", format="png", label="Mix", **PIXELS)
                    mix_grid = gr.Image(
                        type="filepath", format="png", label="B on top, A on the left, the mix", **PIXELS
                    )

            with gr.Tab("Project", id="project"):
                with gr.Row():
                    with gr.Column():
                        target = gr.File(label="A mask image to project", file_types=IMAGE_TYPES)
                        steps = gr.Slider(1, studio.limits.max_steps, value=200, step=1, label="Steps")
                        proj_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=SEED_MAX)
                        noise = gr.Radio(
                            ["fixed", "random", "const"], value="fixed", label="Noise maps",
                            info="fixed: mix and walk then show exactly the projection",
                        )  # fmt: skip
                        wplus = gr.Checkbox(False, label="W+ (one w per layer: closer, less editable)")
                        with gr.Row():
                            proj_go = gr.Button("Project", variant="primary")
                            proj_stop = gr.Button("Cancel", variant="stop")
                    with gr.Column():
                        proj_image = gr.Image(
                            type="filepath", format="png", label="Target | projection", **PIXELS
                        )
                        proj_w = gr.File(label="Its latent (projected_w.npz)")
                        proj_note = gr.Markdown()
                        with gr.Row():
                            to_mix = gr.Button("Use as mask A in Mix")
                            to_walk = gr.Button("Walk from it")

            with gr.Tab("Walk", id="walk"):
                with gr.Row():
                    with gr.Column():
                        walk_latents = gr.File(
                            label="Start from projected latents (.npz)",
                            file_types=[".npz"],
                            file_count="multiple",
                        )
                        walk_seeds = gr.Textbox("0,1,2", label="Then these seeds (keyframes)")
                        frames = gr.Slider(
                            1, 120, value=12, step=1, label="Frames from one keyframe to the next"
                        )
                        loop = gr.Checkbox(False, label="Loop back to the first")
                        fps = gr.Slider(1, 60, value=12, step=1, label="Frames per second")
                        video_format = gr.Radio(["gif", "mp4"], value="gif", label="Download as")
                        walk_truncation = gr.Slider(-1, 2, value=1.0, step=0.05, label="Truncation psi")
                        with gr.Row():
                            walk_go = gr.Button("Walk", variant="primary")
                            walk_stop = gr.Button("Cancel", variant="stop")
                    with gr.Column():
                        walk_image = gr.Image(type="filepath", label="The walk", format="gif", **PIXELS)
                        walk_file = gr.File(label="Download")

            with gr.Tab("Colour a sketch", id="colour"):
                if not translators:
                    gr.Markdown(TRAIN_TRANSLATOR_HINT, elem_classes=["mg-hint"])
                translator = gr.Dropdown(
                    translators, value=translators[0] if translators else None, label="Translator checkpoint",
                    allow_custom_value=True, elem_id="translator",
                )  # fmt: skip
                with gr.Row():
                    with gr.Column():
                        sketch = gr.File(
                            label="Line drawing (or a mask, with XDoG below)",
                            file_types=IMAGE_TYPES,
                            elem_id="sketch-file",
                        )
                        drawing = gr.Sketchpad(label="...or draw one", type="numpy", image_mode="RGBA")
                        extract = gr.Checkbox(
                            False, label="The upload is a colour mask: make the sketch with XDoG"
                        )
                    with gr.Column():
                        reference = gr.File(
                            label="Colour reference (or pick a built-in one)",
                            file_types=IMAGE_TYPES,
                            elem_id="reference-file",
                        )
                        gr.Image(
                            str(sheet),
                            label=f"Built-in references 0-{BUILTIN_REFERENCES - 1}",
                            interactive=False,
                            format="png",
                        )
                        builtin = gr.Slider(
                            0, BUILTIN_REFERENCES - 1, value=0, step=1, label="Built-in reference"
                        )
                        with gr.Row():
                            colour_go = gr.Button("Colour", variant="primary", elem_id="colour-button")
                            colour_stop = gr.Button("Cancel", variant="stop")
                with gr.Row():
                    seen = gr.Image(
                        type="filepath", format="png", label="Sketch as the translator sees it", **PIXELS
                    )
                    warped = gr.Image(
                        type="filepath", format="png", label="Reference warped onto the sketch", **PIXELS
                    )
                    coloured = gr.Image(
                        type="filepath", format="png", label="Result", elem_id="colour-result", **PIXELS
                    )
                colour_note = gr.Markdown(elem_id="colour-note")

            with gr.Tab("Train on your masks", id="train"):
                if desk is None:
                    gr.Markdown(TRAINING_OFF, elem_classes=["mg-hint"])
                else:
                    gr.Markdown(TRAIN_INTRO)
                    names = desk.collections.names()
                    with gr.Row():
                        with gr.Column():
                            collection = gr.Dropdown(
                                names, value=names[0] if names else DEFAULT_NAME, allow_custom_value=True,
                                label="Collection (a new name starts a new one)", elem_id="train-collection",
                            )  # fmt: skip
                            uploads = gr.File(
                                label="Mask pictures, or .zip archives of them",
                                file_count="multiple",
                                file_types=[*IMAGE_TYPES, ".zip"],
                                elem_id="train-uploads",
                            )
                            with gr.Row():
                                add_go = gr.Button("Add to the collection", elem_id="train-add")
                                check_go = gr.Button("Check it", elem_id="train-check")
                            added = gr.Markdown(elem_id="train-added")
                            report = gr.Markdown(elem_id="train-report")
                        with gr.Column():
                            train_resolution = gr.Dropdown(
                                [32, 64, 128, 256], value=64, label="Resolution (px)",
                                info="64 on a laptop: the base model is for 64 px, others start from "
                                "scratch; 128 and 256 want a GPU",
                            )  # fmt: skip
                            train_minutes = gr.Slider(1, 240, value=15, step=1, label="Minutes of training")
                            augmenters = augmenter_names()
                            train_augment = gr.Dropdown(
                                augmenters, value="ada" if "ada" in augmenters else augmenters[0],
                                label="Augmenter in front of D",
                            )  # fmt: skip
                            train_mirror = gr.Radio(
                                list(MIRROR_CHOICES), value="auto", label="Mirror G",
                                info="auto: when most masks are left-right symmetric (crooked faces: off)",
                            )  # fmt: skip
                            train_init = gr.Radio(
                                list(START_CHOICES), value=START_CHOICES[0], label="Start from",
                                info="a base model shipped with maskgen, when one of this size exists",
                            )  # fmt: skip
                            with gr.Row():
                                train_go = gr.Button("Train", variant="primary", elem_id="train-start")
                                resume_go = gr.Button("Continue its last run", elem_id="train-resume")
                                stop_go = gr.Button("Stop", variant="stop", elem_id="train-stop")
                            train_note = gr.Markdown(elem_id="train-status")
                            train_grid = gr.Image(
                                type="filepath", format="png", label="Samples of the run", interactive=False,
                                elem_id="train-grid", **PIXELS,
                            )  # fmt: skip
                            train_command = gr.Markdown(elem_id="train-command")
                    known_run = gr.State(None)
                    ticker = gr.Timer(POLL_S)

            with gr.Tab("Checkpoints from the Hub", id="hub"):
                gr.Markdown("Pulled through the Hugging Face cache (`HF_HUB_OFFLINE=1`: the cache only).")
                hub_ref = gr.Textbox(label="Hub reference", placeholder="hf://OWNER/REPO@REVISION")
                hub_go = gr.Button("Pull", variant="primary")
                hub_note = gr.Markdown()
        status = gr.Markdown(elem_id="status")

        # -- events ---------------------------------------------------------------------------------------
        checkpoint_outputs = [about, gen_class, mix_class, crossover, gen_size]
        checkpoint.change(on_checkpoint, checkpoint, checkpoint_outputs, api_name="info", concurrency_id=FAST)
        page.load(
            on_checkpoint, checkpoint, checkpoint_outputs, api_visibility="private", concurrency_id=FAST
        )
        dice.click(random_seed, None, seed, api_visibility="private", queue=False)
        go.click(
            generate, [checkpoint, seed, truncation, gen_class, count, gen_size],
            [gen_image, gen_file, gen_note], api_name="generate", concurrency_id=FAST, concurrency_limit=2,
        )  # fmt: skip
        mix_go.click(
            mix, [checkpoint, seed_a, latent_a, seed_b, latent_b, crossover, mix_truncation, mix_class],
            [mix_image, mix_grid], api_name="mix", concurrency_id=FAST, concurrency_limit=2,
        )  # fmt: skip
        long_work = {"concurrency_id": LONG, "concurrency_limit": 1}
        projecting = proj_go.click(
            project, [checkpoint, target, steps, proj_seed, noise, wplus], [proj_image, proj_w, proj_note],
            api_name="project", **long_work,
        )  # fmt: skip
        walking = walk_go.click(
            walk,
            [checkpoint, walk_seeds, walk_latents, frames, loop, fps, video_format, walk_truncation,
             gen_class],
            [walk_image, walk_file], api_name="walk", **long_work,
        )  # fmt: skip
        colouring = colour_go.click(
            colour, [translator, sketch, drawing, extract, reference, builtin],
            [seen, coloured, warped, colour_note], api_name="colour", **long_work,
        )  # fmt: skip
        # Cancel stops this page's running job at its next step (jobs.Token) and drops a queued one.
        gr.Button("cancel", visible=False).click(cancel, None, status, api_name="cancel", queue=False)
        for name, button in (("project", proj_stop), ("walk", walk_stop), ("colour", colour_stop)):
            button.click(
                cancel, None, status, queue=False, cancels=[projecting, walking, colouring],
                api_name=f"cancel_{name}", api_visibility="private",
            )  # fmt: skip
        to_mix.click(latent_for_mix, proj_w, latent_a, api_visibility="private", queue=False)
        to_walk.click(latent_for_walk, proj_w, walk_latents, api_visibility="private", queue=False)
        hub_go.click(pull, hub_ref, [hub_note, checkpoint, translator], api_name="pull", concurrency_id=LONG)
        if desk is not None:
            training = {"concurrency_id": TRAIN, "concurrency_limit": 1}
            shown_run = [train_note, train_grid, train_command, checkpoint]
            add_go.click(
                train_add, [collection, uploads, train_resolution], [added, report, collection, uploads],
                api_name="train_add", **training,
            )  # fmt: skip
            check_go.click(
                train_check, [collection, train_resolution], report, api_name="train_check", **training
            )
            train_go.click(
                train_start,
                [collection, train_resolution, train_minutes, train_augment, train_mirror, train_init],
                shown_run, api_name="train_start", **training,
            )  # fmt: skip
            resume_go.click(
                train_resume, [collection, train_minutes], shown_run, api_name="train_resume", **training
            )
            stop_go.click(train_stop, None, shown_run, api_name="train_stop", queue=False)
            # Every open page polls the run's own files; cheap, so outside the queue.
            ticker.tick(
                train_status, known_run, [*shown_run, known_run], api_name="train_status", queue=False,
                show_progress="hidden",
            )  # fmt: skip
    return page


def augmenter_names() -> list[str]:
    """The augmenters a run can use: 'none' and the installed plugins."""
    from maskgen.plugins.registry import get_registry

    return ["none", *get_registry().names("augmenter")]


def _drawn(drawing: dict[str, Any] | None) -> Any:
    """The composite of a Sketchpad value, or None when nothing was drawn."""
    if not isinstance(drawing, dict):
        return None
    composite = drawing.get("composite")
    if composite is None:
        return None
    import numpy as np

    arr = np.asarray(composite)
    if arr.ndim == 3 and arr.shape[2] == 4 and not arr[..., 3].any():
        return None  # an empty canvas
    return arr
