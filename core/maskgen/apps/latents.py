"""Latents by name: seeds and projected ``.npz`` files, wherever a command takes a list of masks.

A latent list is comma separated: seeds and seed ranges as ``maskgen generate --seeds`` reads them,
and paths ending in ``.npz`` written by ``maskgen project`` (``0-3,proj/projected_w.npz,9``). A seed
becomes ws through the generator's mapping network (with truncation psi); a projected file is used as
it is, with no truncation: it already is the w of one particular image. Its optimised noise maps are
not used by ``mix`` or ``video``; they render every latent with the checkpoint's constant noise.

The projected file (``projected_w.npz``) holds ``w``, float32 ``[1, w_dim]`` (one w for every layer)
or ``[num_ws, w_dim]`` (W+), ``noise_<i>`` the optimised noise maps named by ``noise_names``, and
``meta``, a JSON string (checkpoint, target, settings, final distances).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.artifacts.generator import seed_conditions
from maskgen.errors import MaskgenError
from maskgen.evaluation.files import atomic_write
from maskgen.images import latents_for_seeds, parse_seeds

LatentSource = int | Path
NPZ_SUFFIX = ".npz"
NOISE_SUFFIX = ".noise_const"


def parse_latent_sources(text: str, what: str = "latent list") -> list[LatentSource]:
    """'0-2,proj/projected_w.npz' -> [0, 1, 2, Path('proj/projected_w.npz')]; bad parts: one line."""
    sources: list[LatentSource] = []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        if part.lower().endswith(NPZ_SUFFIX):
            path = Path(part).expanduser()
            if not path.is_file():
                raise MaskgenError(f"projected latent file not found in the {what}: {path}")
            sources.append(path)
            continue
        try:
            sources.extend(parse_seeds(part))
        except MaskgenError:
            raise MaskgenError(
                f"bad {what} {text!r} at {part!r}; use seeds (0-7, 1,5,9-12) and .npz files from "
                "'maskgen project'"
            ) from None
    if not sources:
        raise MaskgenError(f"empty {what} {text!r}; use seeds (0-7) and .npz files from 'maskgen project'")
    return sources


def load_projected_w(path: str | Path, G: torch.nn.Module) -> torch.Tensor:
    """The ws [num_ws, w_dim] of a projected file, checked against ``G``; anything wrong is one line."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "w" not in data.files:
                raise MaskgenError(
                    f"{path} has no 'w' array; is it a projected_w.npz from 'maskgen project'?"
                )
            w = np.asarray(data["w"], dtype=np.float32)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise MaskgenError(
            f"cannot read projected latent {path}: {' '.join(str(exc).split())[:160]}"
        ) from None
    num_ws, w_dim = int(G.num_ws), int(G.w_dim)
    if w.ndim != 2 or w.shape[1] != w_dim or w.shape[0] not in (1, num_ws):
        raise MaskgenError(
            f"{path} holds w of shape {list(w.shape)}, this generator needs [1, {w_dim}] or "
            f"[{num_ws}, {w_dim}]: it was projected with another checkpoint"
        )
    if not np.isfinite(w).all():
        raise MaskgenError(f"{path} holds non-finite values")
    return torch.from_numpy(w).expand(num_ws, w_dim).clone()


@torch.no_grad()
def ws_for_sources(
    G: torch.nn.Module,
    sources: Sequence[LatentSource],
    truncation: float = 1.0,
    class_index: int | None = None,
) -> torch.Tensor:
    """ws [N, num_ws, w_dim] on G's device: seeds through the mapping (truncated), files as they are.
    A conditional G draws the seeds as ``class_index`` (None: seed s as class s mod c_dim)."""
    device = next(G.parameters()).device
    out = torch.empty(len(sources), G.num_ws, G.w_dim, device=device)
    seed_rows = [i for i, s in enumerate(sources) if isinstance(s, int)]
    if seed_rows:
        seeds = [int(sources[i]) for i in seed_rows]  # type: ignore[arg-type]
        z = latents_for_seeds(seeds, G.z_dim, device)
        c = seed_conditions(G, seeds, class_index)  # as generate draws them
        out[seed_rows] = G.mapping(z, c, truncation_psi=truncation).to(out.dtype)
    for i, source in enumerate(sources):
        if not isinstance(source, int):
            out[i] = load_projected_w(source, G).to(device)
    return out


@torch.no_grad()
def synthesize(G: torch.nn.Module, ws: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Images [N, 3, H, W] in [-1, 1] of ws [N, num_ws, w_dim], with the checkpoint's constant noise."""
    if len(ws) == 0:
        r = G.img_resolution
        return torch.zeros(0, G.img_channels, r, r, device=ws.device)
    return torch.cat([G.synthesis(part, noise_mode="const") for part in ws.split(batch_size)])


# -- noise maps ------------------------------------------------------------------------------------


def noise_buffers(G: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The synthesis network's constant noise maps by name (``blocks.0.conv1.noise_const``)."""
    return {name: buf for name, buf in G.synthesis_network.named_buffers() if name.endswith(NOISE_SUFFIX)}


@contextmanager
def swapped_noise(G: torch.nn.Module, noise: dict[str, torch.Tensor]) -> Iterator[None]:
    """Render with ``noise`` in place of G's constant noise maps (``noise_mode="const"``), then put
    G's own maps back. The tensors may require grad: this is how the projector optimises them, with no
    change to the networks (the reference projector does the same with its buffers)."""
    modules = dict(G.synthesis_network.named_modules())
    saved: dict[str, torch.Tensor] = {}
    try:
        for name, tensor in noise.items():
            owner, attr = name.rsplit(".", 1)
            module = modules.get(owner)
            if module is None or attr != "noise_const" or not hasattr(module, attr):
                raise MaskgenError(f"this generator has no noise map {name!r}")
            if tuple(tensor.shape) != tuple(getattr(module, attr).shape):
                raise MaskgenError(
                    f"noise map {name!r} has shape {list(tensor.shape)}, expected "
                    f"{list(getattr(module, attr).shape)}"
                )
            saved[owner] = getattr(module, attr)
            setattr(module, attr, tensor)
        yield
    finally:
        for owner, tensor in saved.items():
            modules[owner].noise_const = tensor


# -- the projected file ------------------------------------------------------------------------------


def save_projected(
    path: str | Path, w: torch.Tensor, noise: dict[str, torch.Tensor], meta: dict[str, Any]
) -> Path:
    """Write ``projected_w.npz`` atomically (temporary file in the same folder, then os.replace)."""
    arrays: dict[str, np.ndarray] = {"w": w.detach().float().cpu().numpy()}
    names = list(noise)
    for i, name in enumerate(names):
        arrays[f"noise_{i}"] = noise[name].detach().float().cpu().numpy()
    arrays["noise_names"] = np.array(names, dtype=np.str_)
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True), dtype=np.str_)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: numpy would append ".npz" to a name
            np.savez(f, **arrays)

    return atomic_write(path, write)


def load_projected(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """(w, noise maps by name, meta) of a projected file, unchecked (see :func:`load_projected_w`)."""
    with np.load(Path(path), allow_pickle=False) as data:
        names = [str(n) for n in data["noise_names"]] if "noise_names" in data.files else []
        noise = {name: data[f"noise_{i}"] for i, name in enumerate(names)}
        meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
        return data["w"], noise, meta
