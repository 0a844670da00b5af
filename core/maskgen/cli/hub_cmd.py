"""``maskgen pull`` and ``maskgen push``: checkpoints on the Hugging Face Hub."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from maskgen.cli.app import SHARE, app
from maskgen.cli.options import checkpoint_help

if TYPE_CHECKING:
    from maskgen.artifacts.hub_push import PushPlan


@app.command("pull", rich_help_panel=SHARE)
def pull(
    reference: str = typer.Argument(
        ...,
        help="OWNER/REPO[@REVISION], hf://OWNER/REPO[@REVISION], or a short name a plugin registers "
        "(maskgen list-plugins --checkpoints). REVISION: branch, tag or commit (default main).",
    ),
    purpose: str = typer.Option(
        "draw",
        "--for",
        help="What to fetch it for: draw (the inference weights, config and card: all that generate "
        "needs), fine-tune (also training_weights.safetensors: what run --init starts D from) or all "
        "(the whole repo, training state and samples included).",
    ),
) -> None:
    """Download a checkpoint into the Hugging Face cache and print its local path.

    The path (a snapshot folder named by the commit) works wherever a checkpoint path does. With
    HF_HUB_OFFLINE=1 only the cache is read.
    """
    from maskgen.artifacts import hub_pull as hub

    resolved = hub.resolve(hub.parse_reference(reference, allow_bare=True), purpose=purpose.strip().lower())
    carries = " with its upscaler" if (resolved.path / hub.UPSCALER_DIR).is_dir() else ""
    typer.echo(f"{resolved.reference} is commit {resolved.commit} ({resolved.pinned}){carries}", err=True)
    typer.echo(str(resolved.path))  # stdout holds the path alone: `cd "$(maskgen pull ...)"` works


@app.command("push", rich_help_panel=SHARE)
def push(
    checkpoint: str = typer.Argument(..., help=checkpoint_help("The checkpoint to upload")),
    repo: str = typer.Argument(..., help="OWNER/REPO on the Hub; created if missing."),
    private: bool = typer.Option(False, "--private", help="Create the repo private (a new repo only)."),
    revision: str = typer.Option(
        None, "--revision", help="Branch to commit to (created from main if missing); default main."
    ),
    tag: str = typer.Option(None, "--tag", help="Tag the new commit, e.g. v1.0, so pulls can pin it."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Upload nothing: write the exact folder that would be uploaded and list it."
    ),
    dry_run_dir: Path = typer.Option(
        None, "--dry-run-dir", help="Folder for --dry-run (implies it); default: a new temporary folder."
    ),
    with_training_state: bool = typer.Option(
        False, "--with-training-state", help="Also upload the optimizer/augmenter/RNG state (for --resume)."
    ),
    license_id: str = typer.Option(
        None,
        "--license",
        help="License id for the card (default: apache-2.0 for the built-in masks, 'other' otherwise).",
    ),
    card: Path = typer.Option(None, "--card", help="Upload this README.md instead of a generated card."),
    message: str = typer.Option(None, "--message", "-m", help="Commit message."),
) -> None:
    """Upload a checkpoint (model.safetensors, config.json, README.md model card) in one commit.

    The training state is uploaded only with --with-training-state. samples.png and metrics.json go
    along when the checkpoint has them, and the upscaler a GAN checkpoint carries (upscaler/) with it.
    """
    from maskgen.artifacts import hub_push
    from maskgen.artifacts.hub_pull import DEFAULT_REVISION

    repo_id = hub_push.parse_repo_id(repo)
    branch = revision or DEFAULT_REVISION
    if dry_run or dry_run_dir is not None:
        folder = dry_run_dir or Path(tempfile.mkdtemp(prefix="maskgen-push-dry-run-"))
        plan = hub_push.stage_upload(
            checkpoint, folder, repo_id, branch, tag, with_training_state, license_id, card
        )
        where = f"{repo_id} (branch {branch}" + (f", tag {tag})" if tag else ")")
        typer.echo(f"dry run: would commit {len(plan.files)} files to {where}; they are in {folder}")
        for name in plan.files:
            typer.echo(f"  {name}  {_size(plan.sizes[name])}")
        return
    result = hub_push.push(
        checkpoint,
        repo_id,
        private=private,
        revision=branch,
        tag=tag,
        with_training_state=with_training_state,
        license_id=license_id,
        card=card,
        message=message,
    )
    for name in result.plan.files:
        typer.echo(f"  {name}  {_size(result.plan.sizes[name])}")
    for name in result.deleted:
        typer.echo(f"  {name}  (removed: not part of this checkpoint)")
    typer.echo(f"pushed {len(result.plan.files)} files to {repo_id} (branch {branch}): {result.commit_url}")
    typer.echo(f"use it with: {_usage(result.plan, f'hf://{repo_id}@{tag or result.commit}')}")


def _usage(plan: PushPlan, reference: str) -> str:
    """The command that draws (or enlarges) with what was pushed."""
    if plan.config.get("kind") == "upscaler":
        return f"maskgen upscale apply --checkpoint {reference} SMALL.png --out large/"
    size = plan.upscaler.get("size")
    return (
        f"maskgen generate --checkpoint {reference}"
        + (f" --size {size}" if size else "")
        + " --out masks.png"
    )


def _size(num_bytes: int) -> str:
    size = float(num_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""
