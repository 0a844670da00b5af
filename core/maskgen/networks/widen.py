"""Start a wider network from a narrower one's weights without changing what it computes.

A network with more channels at some resolutions (``channel_min``) can begin where a trained, narrower
one ended instead of from scratch: every tensor of the narrow network is copied into the leading slice
of the wide one's, the new channels keep their fresh initialization, and the weights that would carry
the new channels into the old ones start at zero (Net2Net-style growth, Chen et al. 2016, with zero
outgoing weights instead of copies). The wide network then draws and judges exactly as the narrow one
did, while gradients reach the zero weights at once (their inputs are the new channels' non-zero
activations), so the new capacity is used as training goes on.

Two facts of maskgen's layers make this exact:

* every weight is stored unscaled and multiplied at run time by ``1 / sqrt(fan_in)`` (equalized
  learning rate), so an old filter that gains inputs is rescaled by ``sqrt(new_in / old_in)``;
* the generator's demodulation divides each filter by its norm over its inputs, which zero columns
  leave unchanged.

Only the channel axes (0: outputs, 1: inputs) of convolutions may grow; a difference anywhere else
(kernel size, resolution, the inputs of a fully connected layer, such as D's flattened 4x4 features,
whose order interleaves the channels) is not a widening.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from maskgen.networks.layers import FullyConnectedLayer


def widening(stored: tuple[int, ...], wanted: tuple[int, ...]) -> bool:
    """Whether a tensor of shape ``stored`` grows into ``wanted`` along the channel axes only."""
    if len(stored) != len(wanted) or stored == wanted:
        return False
    grown = [i for i, (a, b) in enumerate(zip(stored, wanted, strict=True)) if a != b]
    return all(i < 2 and stored[i] < wanted[i] for i in grown)


def widen_tensor(name: str, stored: torch.Tensor, fresh: torch.Tensor) -> torch.Tensor:
    """``fresh`` (the wide network's initial tensor) with ``stored`` in its leading slice.

    For a weight whose inputs grew, the old filters are rescaled for the larger fan-in and their
    weights on the new inputs set to zero; the new filters keep their fresh values.
    """
    out = fresh.detach().clone()
    old = stored.to(out.dtype)
    lead = tuple(slice(0, n) for n in old.shape)
    if name.endswith("weight") and old.ndim >= 2 and old.shape[1] < out.shape[1]:
        old = old * math.sqrt(out.shape[1] / old.shape[1])
        out[: old.shape[0], old.shape[1] :] = 0
    # The 4x4 constant's axis 1 is spatial: it never grows, so the slice above never touches it.
    out[lead] = old
    return out


def widen_state(module: nn.Module, state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], int]:
    """``state`` with every tensor narrower than ``module``'s widened into it, and how many were.

    Tensors of the right shape, and those that differ in any other way, pass through unchanged (the
    strict load that follows reports the latter). The fresh values come from ``module`` itself, so two
    copies of one network (G and its EMA) widen identically.
    """
    expected = module.state_dict()
    owners = dict(module.named_modules())
    widened = dict(state)
    count = 0
    for name, tensor in state.items():
        target = expected.get(name)
        if target is None or not widening(tuple(tensor.shape), tuple(target.shape)):
            continue
        owner = owners.get(name.rpartition(".")[0])
        if isinstance(owner, FullyConnectedLayer) and tensor.shape[1:] != target.shape[1:]:
            continue
        widened[name] = widen_tensor(name, tensor, target)
        count += 1
    return widened, count
