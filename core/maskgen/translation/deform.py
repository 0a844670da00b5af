"""Pseudo exemplars: geometric deformations of the ground truth (CoCosNet's x'_B, Eq. 15 of the paper).

Each image gets either a random affine map or a random thin-plate-spline (TPS) warp, then a random crop
(zoom in, resized back to full size) and a random horizontal flip. All three are composed into one
sampling grid, so the image is interpolated once. Everything random comes from torch's global RNG (the
trainer saves its state in checkpoints).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class DeformParams:
    tps_prob: float = 0.5  # otherwise affine
    max_rotation_deg: float = 8.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    max_shift: float = 0.06  # fraction of the image side
    tps_grid: int = 4  # TPS control points per side
    tps_strength: float = 0.06  # std of control point offsets, fraction of the image side
    crop_range: tuple[float, float] = (0.8, 1.0)  # side of the crop relative to the image
    flip_prob: float = 0.5


def _identity_grid(n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    ys = torch.linspace(-1, 1, h, device=device)
    xs = torch.linspace(-1, 1, w, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], -1).expand(n, h, w, 2)


def _affine(grid: torch.Tensor, p: DeformParams) -> torch.Tensor:
    n, device = grid.shape[0], grid.device
    angle = (torch.rand(n, device=device) * 2 - 1) * math.radians(p.max_rotation_deg)
    lo, hi = p.scale_range
    scale = lo + torch.rand(n, device=device) * (hi - lo)
    shift = (torch.rand(n, 2, device=device) * 2 - 1) * 2 * p.max_shift  # grid spans 2 units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # [N, 2, 2]
    return torch.einsum("nij,nhwj->nhwi", rot, grid) + shift[:, None, None, :]


@functools.lru_cache(maxsize=8)
def _tps_basis(h: int, w: int, k: int, device_str: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Control points [K, 2], the TPS system matrix [K+3, K+3] and the basis at every pixel [HW, K+3]."""
    device = torch.device(device_str)
    side = torch.linspace(-1, 1, k, device=device, dtype=torch.float64)
    cy, cx = torch.meshgrid(side, side, indexing="ij")
    ctrl = torch.stack([cx.reshape(-1), cy.reshape(-1)], -1)

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        r2 = torch.cdist(a, b).pow(2)
        return torch.where(r2 > 0, r2 * torch.log(r2.clamp_min(1e-12)), torch.zeros_like(r2))

    count = ctrl.shape[0]
    poly = torch.cat([torch.ones(count, 1, device=device, dtype=torch.float64), ctrl], 1)
    system = torch.zeros(count + 3, count + 3, device=device, dtype=torch.float64)
    system[:count, :count] = kernel(ctrl, ctrl)
    system[:count, count:] = poly
    system[count:, :count] = poly.T
    pts = _identity_grid(1, h, w, device)[0].reshape(-1, 2).double()
    basis = torch.cat(
        [kernel(pts, ctrl), torch.ones(len(pts), 1, device=device, dtype=torch.float64), pts], 1
    )
    return ctrl, system, basis


def _tps(grid: torch.Tensor, p: DeformParams) -> torch.Tensor:
    """Smooth random displacement: control points on a k x k lattice move by N(0, strength)."""
    n, h, w, _ = grid.shape
    ctrl, system, basis = _tps_basis(h, w, p.tps_grid, str(grid.device))
    offsets = torch.randn(n, ctrl.shape[0], 2, device=grid.device) * (2 * p.tps_strength)
    rhs = torch.cat([offsets.double(), torch.zeros(n, 3, 2, device=grid.device, dtype=torch.float64)], 1)
    coeffs = torch.linalg.solve(system.expand(n, -1, -1), rhs)  # [N, K+3, 2]
    displacement = (basis @ coeffs).float().reshape(n, h, w, 2)
    return grid + displacement


def deform(images: torch.Tensor, params: DeformParams | None = None, fill: float = 1.0) -> torch.Tensor:
    """Randomly deform [N, C, H, W] images; pixels from outside are ``fill`` (white for [-1, 1] images)."""
    p = params or DeformParams()
    n, _, h, w = images.shape
    device = images.device
    grid = _identity_grid(n, h, w, device)
    # Crop: sample a smaller box of the (warped) image, i.e. shrink the grid and move it inside.
    lo, hi = p.crop_range
    crop = lo + torch.rand(n, device=device) * (hi - lo)
    room = 1 - crop
    centre = (torch.rand(n, 2, device=device) * 2 - 1) * room[:, None]
    grid = grid * crop[:, None, None, None] + centre[:, None, None, :]
    flip = torch.rand(n, device=device) < p.flip_prob
    grid = torch.where(flip[:, None, None, None], grid * torch.tensor([-1.0, 1.0], device=device), grid)
    use_tps = torch.rand(n, device=device) < p.tps_prob
    # Both warps are drawn for every image so the RNG stream does not depend on the coin flips.
    grid = torch.where(use_tps[:, None, None, None], _tps(grid, p), _affine(grid, p))
    # TPS offsets are defined on the lattice of the identity grid; applying them after crop/flip keeps
    # them smooth in output coordinates, which is all a pseudo exemplar needs.
    shifted = images - fill  # zeros padding of the shifted image == ``fill`` outside
    out = F.grid_sample(shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out + fill
