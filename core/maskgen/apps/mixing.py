"""``maskgen mix``: the style-mixing grid of Karras et al. (2019, Fig. 3; 2020).

The top row shows the column sources, the left column the row sources, both rendered plainly. Cell
(i, j) is row i's ws with the ws at the layers in ``styles`` replaced by column j's: the row gives
every layer not listed, the column the listed ones. The default ``0-3`` lists the coarse layers (the
4 to 16 px convolutions: layout, the large shapes and the main colour), so by default a cell takes
its **coarse styles from the column and its fine styles (details, line work, the small colour
regions) from the row**. For coarse from the row and fine from the column, list the fine layers
instead (``--styles 4-9`` at 64 px).

ws index j drives the convolution at ``4 * 2**ceil(j / 2)`` px (and the toRGB layer of the block
before it); the last index drives only the final toRGB. Invariants (tested): with every layer
listed, each cell is its column's image; with none listed (``--styles none``), its row's; and a cell
whose row and column are the same latent is that latent's image, whatever the styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from maskgen.apps.latents import LatentSource, synthesize, ws_for_sources
from maskgen.errors import MaskgenError
from maskgen.images import make_grid, to_uint8

DEFAULT_STYLES = "0-3"
_EMPTY = ("", "none", "-")


def layer_resolutions(num_ws: int, resolution: int) -> list[int]:
    """The resolution (px) of the convolution each ws index drives; the last: the final toRGB."""
    return [4 * 2 ** math.ceil(j / 2) for j in range(num_ws - 1)] + [resolution]


def parse_styles(text: str, num_ws: int) -> list[int]:
    """'0-3' / '0,2,5-7' / 'all' / 'none' -> sorted layer indices in [0, num_ws); bad text: one line."""
    spec = str(text).strip().lower()
    if spec in _EMPTY:
        return []
    if spec == "all":
        return list(range(num_ws))
    layers: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        low, sep, high = part.partition("-")
        if not low.isdigit() or (sep and not high.isdigit()) or (sep and int(high) < int(low)):
            raise MaskgenError(
                f"bad --styles {text!r}; use layer indices like 0-3 or 0,2,5-7 (or all, none); "
                f"this generator has {num_ws} layers, 0-{num_ws - 1}"
            )
        stop = int(high) if sep else int(low)
        if stop >= num_ws:
            raise MaskgenError(
                f"--styles {text!r} names layer {stop}, but this generator has {num_ws} layers, "
                f"0-{num_ws - 1}"
            )
        layers.update(range(int(low), stop + 1))
    return sorted(layers)


def mix_ws(row_ws: torch.Tensor, col_ws: torch.Tensor, styles: Sequence[int]) -> torch.Tensor:
    """[R, L, C] and [K, L, C] -> [R, K, L, C]: row ws with the column's at the ``styles`` layers."""
    out = row_ws[:, None].expand(-1, len(col_ws), -1, -1).clone()
    if len(styles):
        index = torch.as_tensor(list(styles), device=row_ws.device)
        out[:, :, index] = col_ws[None, :, index].expand(len(row_ws), -1, -1, -1)
    return out


@dataclass
class MixingGrid:
    rows: np.ndarray  # uint8 [R, H, W, 3]: the row sources
    cols: np.ndarray  # uint8 [K, H, W, 3]: the column sources
    cells: np.ndarray  # uint8 [R, K, H, W, 3]
    styles: list[int]

    def image(self) -> np.ndarray:
        """One uint8 image: white corner, column sources along the top, row sources down the left."""
        r, k, h, w, c = self.cells.shape
        tiles = np.full((r + 1, k + 1, h, w, c), 255, dtype=np.uint8)
        tiles[0, 1:] = self.cols
        tiles[1:, 0] = self.rows
        tiles[1:, 1:] = self.cells
        return make_grid(tiles.reshape(-1, h, w, c), columns=k + 1)


@torch.no_grad()
def style_mixing_grid(
    G: torch.nn.Module,
    rows: Sequence[LatentSource],
    cols: Sequence[LatentSource],
    styles: Sequence[int],
    truncation: float = 1.0,
    class_index: int | None = None,
    enlarge: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> MixingGrid:
    """The grid of ``rows`` x ``cols`` (seeds or projected files), mixed at ``styles``.

    ``enlarge`` (e.g. a cascade's upscaler, :meth:`maskgen.apps.cascade.Cascade.enlarge`) draws every
    tile at print size from the GAN's masks."""
    bad = [s for s in styles if not 0 <= s < G.num_ws]
    if bad:
        raise MaskgenError(f"style layer {bad[0]} out of range: this generator has {G.num_ws} layers")
    row_ws = ws_for_sources(G, rows, truncation, class_index)
    col_ws = ws_for_sources(G, cols, truncation, class_index)
    mixed = mix_ws(row_ws, col_ws, styles)

    def draw(ws: torch.Tensor) -> np.ndarray:
        images = synthesize(G, ws)
        return to_uint8(enlarge(images) if enlarge is not None else images)

    cells = draw(mixed.reshape(-1, G.num_ws, G.w_dim))
    h, w, c = cells.shape[1:]
    return MixingGrid(
        rows=draw(row_ws),
        cols=draw(col_ws),
        cells=cells.reshape(len(rows), len(cols), h, w, c),
        styles=list(styles),
    )
