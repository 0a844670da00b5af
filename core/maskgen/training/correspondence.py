"""Cross-domain correspondence (Ojha et al. 2021): fine-tune without losing the base model's variety.

A generator adapted to a few hundred images tends to collapse onto them. Ojha et al. keep, for a small
batch of latents, how similar each sample is to every other one as the frozen source generator drew
them: at each synthesis block, every sample's cosine similarities to the others become a softmax
distribution, and the adapted generator pays the KL divergence from the source's distribution. Samples
that were different in the base model stay different, whatever each one turns into.

Only the relative-distance term is here; the paper's second part (an image-level discriminator on
anchor regions of latent space, patch-level elsewhere) is not.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from maskgen.errors import MaskgenError

# The paper's batch for this term: four latents, each compared with the three others.
CORRESPONDENCE_BATCH = 4


def synthesis_blocks(G: torch.nn.Module, option: str = "cdc_weight") -> list[torch.nn.Module]:
    """The blocks of a StyleGAN2 synthesis network (``G.synthesis_network.blocks``), coarse to fine:
    one per resolution. ``option`` is what needs them, for the error line."""
    blocks = getattr(getattr(G, "synthesis_network", None), "blocks", None)
    if not isinstance(blocks, torch.nn.ModuleList) or len(blocks) == 0:
        raise MaskgenError(
            f"{option} needs a StyleGAN2-like generator with synthesis blocks; {type(G).__name__} has none"
        )
    return list(blocks)


@contextmanager
def block_features(G: torch.nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collects each synthesis block's feature output ([N, C, H, W]) during the forward passes inside
    the ``with``."""
    features: list[torch.Tensor] = []

    def keep(_module: torch.nn.Module, _inputs: object, output: object) -> None:
        # A block returns (features, image so far); the features are what the paper compares.
        features.append(output[0] if isinstance(output, tuple) else output)  # type: ignore[index]

    handles = [block.register_forward_hook(keep) for block in synthesis_blocks(G)]
    try:
        yield features
    finally:
        for handle in handles:
            handle.remove()


def similarity_distributions(features: torch.Tensor) -> torch.Tensor:
    """Row i: the softmax over j != i of the cosine similarity between samples i and j; [N, N-1]."""
    count = features.shape[0]
    flat = F.normalize(features.float().flatten(1), dim=1)
    similarity = flat @ flat.T
    off_diagonal = ~torch.eye(count, dtype=torch.bool, device=features.device)
    return similarity[off_diagonal].view(count, count - 1).log_softmax(dim=1)


def correspondence_divergence(
    source_features: list[torch.Tensor], target_features: list[torch.Tensor]
) -> torch.Tensor:
    """Sum over blocks of the mean over samples of KL(source || target) between the similarity
    distributions."""
    if len(source_features) != len(target_features):
        raise ValueError("source and target must give the same blocks")
    total = torch.zeros([], device=target_features[0].device)
    for source, target in zip(source_features, target_features, strict=True):
        log_source = similarity_distributions(source.detach())
        log_target = similarity_distributions(target)
        total = total + F.kl_div(log_target, log_source, reduction="batchmean", log_target=True)
    return total


class CrossDomainCorrespondence:
    """The frozen source generator and the term it imposes on the one being fine-tuned."""

    def __init__(self, source: torch.nn.Module, weight: float) -> None:
        synthesis_blocks(source)  # one clear line for a generator without blocks
        self.source = copy.deepcopy(source).eval().requires_grad_(False)
        self.weight = weight

    def loss(self, G: torch.nn.Module, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """``weight`` times the divergence for latents ``z`` (at least 3 of them). Both generators draw
        with constant noise, so only their weights differ."""
        if z.shape[0] < 3:
            raise ValueError("the correspondence term needs at least 3 latents")
        with torch.no_grad(), block_features(self.source) as source_features:
            self.source(z, c, noise_mode="const")
        with block_features(G) as target_features:
            G(z, c, noise_mode="const")
        return self.weight * correspondence_divergence(source_features, target_features)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {key: value.detach().clone() for key, value in self.source.state_dict().items()}

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        self.source.load_state_dict(tensors)
