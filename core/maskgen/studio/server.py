"""Starting the studio: the temp area, the bounded queue, the binding, and nothing shared by default.

* Uploads and outputs live in one temp folder of this studio (``GRADIO_TEMP_DIR``), removed when it
  stops; the web server serves files from there only (``allowed_paths`` is empty), so no request can
  read a checkpoint or any other file.
* The Train tab (unless ``training`` is off) keeps uploaded collections and their runs under
  ``runs_root/studio/``: outside the temp area, because a user's masks and trained runs must outlive
  the studio. Uploads may then be archives of up to ``ZIP_MAX_BYTES``; each picture still has
  ``MAX_BYTES``.
* The queue holds at most ``queue_size`` requests; one more gets "This application is currently busy.
  Please try again." at once instead of waiting without end.
* It listens on 127.0.0.1 unless another host is given, and then says so; with ``auth`` (USER, PASSWORD)
  Gradio's own login guards every page and API call, and a studio reachable from other machines
  without one warns that anyone who reaches it can use it; no share link (a public tunnel) unless
  ``share`` is asked for; no analytics calls home.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from maskgen.errors import MaskgenError
from maskgen.studio.catalogue import Catalogue
from maskgen.studio.collections import ZIP_MAX_BYTES, Collections
from maskgen.studio.handlers import Limits, Studio
from maskgen.studio.training import TrainingDesk
from maskgen.studio.uploads import MAX_BYTES

LOOPBACK = ("127.0.0.1", "localhost", "::1")
STUDIO_FOLDER = "studio"  # collections and runs of the Train tab, under runs_root
GRADIO_EXTRA = "pip install 'maskgen[studio]'"


@dataclass
class StudioConfig:
    checkpoints: Sequence[str] = ()
    translators: Sequence[str] = ()
    host: str = "127.0.0.1"
    port: int = 7860
    queue_size: int = 16
    share: bool = False
    runs_root: Path | None = Path("runs")
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    limits: Limits = field(default_factory=Limits)
    temp_dir: Path | None = None  # default: a fresh folder under the system temp, removed at exit
    training: bool = True  # the Train tab: collections and runs under runs_root/studio
    auth: tuple[str, str] | None = None  # (user, password): Gradio's login in front of everything


def require_gradio() -> None:
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        raise MaskgenError(f"the studio needs Gradio, which is not installed: {GRADIO_EXTRA}")


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """``USER:PASSWORD`` (the password may hold ':') -> (user, password); None for no login."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user.strip() or not password:
        raise MaskgenError("--auth takes USER:PASSWORD, both non-empty (e.g. --auth team:a-long-passphrase)")
    return user.strip(), password


def binding_notice(host: str, port: int, share: bool, auth: bool = False) -> list[str]:
    """What the studio says about who can reach it."""
    lines = []
    if host not in LOOPBACK:
        if auth:
            lines.append(f"listening on {host}:{port}, reachable from other machines; a login is required")
        else:
            lines.append(
                f"warning: listening on {host}:{port}, reachable from other machines, and there is no login: "
                "anyone who reaches it can use it (add --auth USER:PASSWORD to require one)"
            )
    if share:
        lines.append(
            "warning: --share makes a public link through Gradio's tunnel; anyone with it can use the studio"
            + ("" if auth else " (add --auth USER:PASSWORD to require a login)")
        )
    return lines


def create(config: StudioConfig) -> tuple[Any, Studio]:
    """(the Gradio Blocks, the Studio behind it), not yet listening."""
    require_gradio()
    # The checkpoints first: bad arguments fail before anything process-wide (GRADIO_TEMP_DIR) changes.
    catalogue = Catalogue(config.checkpoints, config.translators, config.runs_root)
    temp = Path(config.temp_dir) if config.temp_dir else Path(tempfile.mkdtemp(prefix="maskgen-studio-"))
    temp.mkdir(parents=True, exist_ok=True)
    if config.temp_dir is None:
        atexit.register(shutil.rmtree, temp, True)
    # Gradio stores uploads (and copies of outputs) under GRADIO_TEMP_DIR and accepts as uploads only
    # files under it, read at every request: point it at our area (so: one studio per process).
    os.environ["GRADIO_TEMP_DIR"] = str(temp)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from maskgen.studio.layout import build

    studio = Studio(catalogue, config.device, temp, config.limits)
    if config.training and config.runs_root is not None:
        collections = Collections(Path(config.runs_root) / STUDIO_FOLDER, max_pixels=config.limits.max_pixels)
        studio.training = TrainingDesk(collections, catalogue)
        atexit.register(studio.training.job.close)  # a run still training checkpoints and stops
    page = build(studio)
    page.queue(max_size=config.queue_size, default_concurrency_limit=1)
    return page, studio


def launch(page: Any, config: StudioConfig, block: bool = True) -> Any:
    """Listen on ``config.host``:``config.port``; with ``block`` until interrupted."""
    from maskgen.studio.layout import CSS

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return page.launch(
        server_name=config.host,
        server_port=config.port,
        share=config.share,
        prevent_thread_lock=not block,
        quiet=not block,
        show_error=False,  # refusals are said by the page (ui.on_page) and the API (ui.raising)
        auth=config.auth,
        allowed_paths=[],
        blocked_paths=[str(r) for r in _blocked(config)],
        max_file_size=ZIP_MAX_BYTES if config.training else MAX_BYTES,  # images: MAX_BYTES each
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        css=CSS,
        footer_links=["api"],
    )


def _blocked(config: StudioConfig) -> list[Path]:
    """Never serve a checkpoint folder itself, even if it lay inside the temp area."""
    return [Path(p).resolve() for p in (*config.checkpoints, *config.translators) if Path(p).exists()]
