"""maskgen-augment-diffusion: Diffusion-GAN's adaptive forward diffusion as a maskgen augmenter plugin."""

from maskgen_diffusion.augmenter import (
    DiffusionAugmenter,
    DiffusionOptions,
    linear_alphas_bar,
    sample_timesteps,
    timestep_embedding,
)

__all__ = [
    "DiffusionAugmenter",
    "DiffusionOptions",
    "linear_alphas_bar",
    "sample_timesteps",
    "timestep_embedding",
]
