"""What every tab of the page shares: how a problem is said, range checks on typed values, the style.

Two ways to run a handler:

* :func:`on_page` for the page's own buttons: a refusal becomes one plain line in the Markdown next to
  the button (the event's last output) and the other outputs stay as they were, so the result boxes
  never turn into red "Error" badges and nothing is said twice;
* :func:`raising` for the API endpoints (:mod:`maskgen.studio.endpoints`): a refusal is a ``gr.Error``
  with the same line, which ``gradio_client`` raises.

Either way a bug is one "internal error" line, with its traceback in the server's log only.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from maskgen.errors import MaskgenError
from maskgen.studio.jobs import Cancelled
from maskgen.studio.uploads import check_image
from maskgen.studio.words import Setting

log = logging.getLogger("maskgen.studio")
IMAGE_TYPES = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"]
FAST, LONG, TRAIN = "fast", "long", "train"  # concurrency groups
# Masks are 64-256 px: thumbnails are scaled smoothly, a mask opened large keeps its pixels sharp.
CSS = """
.mg-hint {color: #a15c00;}
.mg-problem {color: #b42318; font-weight: 600;}
.mg-lead p {font-size: 1.05em; margin: 0;}
.mg-pixels img, .mg-gallery .preview img {image-rendering: pixelated;}
.mg-pixels img {width: 100%; height: 100%; object-fit: contain;}
.mg-refs .grid-container {grid-template-columns: repeat(8, minmax(0, 1fr)) !important;}
"""
PIXELS = {"elem_classes": ["mg-pixels"], "height": 300}


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:1].upper() + text[1:]


def problem(text: str) -> str:
    """A refusal as the page shows it next to its control."""
    return f"<span class='mg-problem'>Not done: {text}</span>"


def said(fn_name: str, exc: BaseException) -> str:
    """One line for any exception out of a handler (the traceback of a bug goes to the log)."""
    if isinstance(exc, Cancelled):
        return _line(exc)
    if isinstance(exc, MaskgenError):
        log.info("refused: %s", exc)
        return _line(exc)
    if isinstance(exc, MemoryError):
        return "Out of memory: ask for fewer or smaller masks"
    log.error("internal error in %s", fn_name, exc_info=exc)
    return f"Something went wrong inside the studio ({type(exc).__name__}); its log has the details"


def on_page(fn: Callable[..., tuple[Any, ...]], outputs: int) -> Callable[..., tuple[Any, ...]]:
    """The page's version of a handler returning ``outputs`` values, the last one its note."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            return (*[gr.skip()] * (outputs - 1), problem(said(fn.__name__, exc)))

    wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]  # gradio reads it
    return wrapper


def raising(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The API's version of a handler: a refusal is a gr.Error (gradio_client raises it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            title = "Cancelled" if isinstance(exc, Cancelled) else "Error"
            raise gr.Error(said(fn.__name__, exc), title=title, print_exception=False) from None

    wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return wrapper


def checked_slider(
    setting: Setting,
    label: str | None = None,
    top_from: tuple[gr.components.Component, Callable[[Any], float]] | None = None,
    **kwargs: Any,
) -> gr.Slider:
    """A slider for ``setting`` with a line under it that refuses a typed value outside its range.

    Gradio's slider puts a typed value back inside its range when the box loses focus, without a word;
    the line says what was typed, the range, and where the slider stays. ``top_from``: (a component, a
    function of its value giving the slider's current top), for a top that depends on the model."""
    info = kwargs.pop("info", None) or setting.info() or None
    slider = gr.Slider(
        setting.low, kwargs.pop("maximum", setting.high), value=kwargs.pop("value", setting.default),
        step=setting.step, label=label or setting.name, info=info, **kwargs,
    )  # fmt: skip
    note = gr.Markdown(visible=False, elem_classes=["mg-problem"])

    def check(value: Any, other: Any = None) -> Any:
        top = float(slider.maximum)
        if top_from is not None:
            try:
                top = float(top_from[1](other))
            except Exception:  # the model itself is refused where it is chosen
                return gr.update(visible=False)
        try:
            setting.check(value, top)
        except MaskgenError as exc:
            number = _number(value)
            stays = setting.low if number is not None and number < setting.low else top
            text = _line(exc).replace(", so nothing was made", "")
            return gr.update(value=f"{text}: the slider stays at {stays:g}.", visible=True)
        return gr.update(value="", visible=False)

    inputs = [slider] if top_from is None else [slider, top_from[0]]
    # preprocess off: gradio's own range check would refuse first, in its words, as an error toast.
    slider.input(
        check, inputs, note, preprocess=False, queue=False, show_progress="hidden", api_visibility="private"
    )
    return slider


def checked_upload(
    box: gr.File,
    note: gr.Markdown,
    roots: Sequence[Path],
    max_pixels: int,
    what: str,
    preview: gr.Image | None = None,
) -> None:
    """Check a picture as soon as it is uploaded: a refused one is taken out of the box, with one line
    under it saying why ("empty", "not a picture", the largest size taken), so nothing later uses it or
    says it again. ``preview``: shows the picture once it passed (never before: it is not decoded
    anywhere until then)."""

    def check(path: str | None) -> tuple[Any, ...]:
        if not path:
            return gr.skip(), "", None
        try:
            info = check_image(path, roots, max_pixels, what=what)
        except Exception as exc:
            return None, problem(said("upload", exc)), None
        return gr.skip(), f"{info.width} x {info.height} pixels: ready.", str(info.path)

    quick = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
    if preview is None:
        box.upload(lambda path: check(path)[:2], box, [box, note], **quick)
        box.clear(lambda: "", None, note, **quick)
    else:
        box.upload(check, box, [box, note, preview], **quick)
        box.clear(lambda: ("", None), None, [note, preview], **quick)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)


def reporter(progress: gr.Progress) -> Callable[[float, str], None]:
    return lambda fraction, text: progress(fraction, desc=text)
