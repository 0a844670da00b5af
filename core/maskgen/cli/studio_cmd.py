"""``maskgen studio``: the web studio (docs/studio.md); Gradio is imported only when it starts."""

from __future__ import annotations

import typer

from maskgen.cli.app import DRAW, app
from maskgen.cli.options import bounded_int, checkpoint_option

PORT = bounded_int(ge=1, le=65535, why="a TCP port")
QUEUE = bounded_int(ge=1, le=1000, why="requests waiting at once")
PIXELS = bounded_int(ge=1, le=400_000_000, why="pixels one upload may have before it is decoded")


@app.command("studio", rich_help_panel=DRAW)
def studio(
    checkpoint: list[str] = checkpoint_option(
        [],
        "--checkpoint",
        what="A GAN to serve (repeat for more)",
        more="Default: the shipped base GANs, and the runs in runs/ when --translator is not given either.",
    ),
    translator: list[str] = checkpoint_option(
        [], "--translator", what="A translator to serve (repeat for more)", more="Default: the shipped ones."
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; anything but loopback is reachable by others."
    ),
    port: int = typer.Option(7860, "--port", parser=PORT, help="TCP port."),
    queue_size: int = typer.Option(16, "--queue-size", parser=QUEUE, help="Requests that may wait at once."),
    max_pixels: int = typer.Option(
        4096 * 4096, "--max-pixels", parser=PIXELS, help="Largest upload (width x height) decoded."
    ),
    share: bool = typer.Option(
        False, "--share", help="Also make a public Gradio share link (off by default)."
    ),
    auth: str | None = typer.Option(
        None,
        "--auth",
        metavar="USER:PASSWORD",
        help="Require a login (Gradio's own) for the page and its API; for a studio others can reach.",
    ),  # fmt: skip
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    training: bool = typer.Option(
        True,
        "--training/--no-training",
        help="The Train tab: upload a collection and train on it (runs go to runs/studio/).",
    ),
    check_only: bool = typer.Option(
        False, "--check", help="Check the arguments and checkpoints, print what would be served, and exit."
    ),
) -> None:
    """Start the web studio: generate, mix, project, walk and colour sketches in a browser."""
    from maskgen.devices import pick_device
    from maskgen.errors import MaskgenError
    from maskgen.studio.server import StudioConfig, binding_notice, parse_auth, require_gradio

    require_gradio()  # one line naming the extra, before anything else
    if not host.strip():
        raise MaskgenError("--host is empty; use 127.0.0.1 (this machine only) or an address to bind")
    from maskgen.studio.handlers import Limits
    from maskgen.studio.server import create, launch

    config = StudioConfig(
        checkpoints=checkpoint, translators=translator, host=host.strip(), port=port, queue_size=queue_size,
        share=share, device=pick_device(device), limits=Limits(max_pixels=max_pixels), training=training,
        auth=parse_auth(auth),
    )  # fmt: skip
    for line in binding_notice(config.host, port, share, auth=config.auth is not None):
        typer.echo(line, err=True)
    if check_only:
        from maskgen.studio.catalogue import Catalogue

        catalogue = Catalogue(config.checkpoints, config.translators, config.runs_root)
        for kind in ("gan", "translation"):
            for label in catalogue.labels(kind):
                typer.echo(f"{'generator' if kind == 'gan' else 'translator'}: {label}")
        if training:
            typer.echo(f"would train on uploaded collections under {config.runs_root}/studio/")
        login = " (with a login)" if config.auth else ""
        typer.echo(f"would listen on http://{config.host}:{port}/{login}")
        return
    page, served = create(config)
    catalogue = served.catalogue
    typer.echo(
        f"maskgen studio on http://{config.host}:{port}/ serving {len(catalogue.labels('gan'))} generator(s) "
        f"and {len(catalogue.labels('translation'))} translator(s); Ctrl-C stops it",
        err=True,
    )
    try:
        launch(page, config, block=True)
    except OSError as exc:  # the port is taken
        raise MaskgenError(f"cannot listen on {config.host}:{port}: {exc.strerror or exc}") from None
