"""maskgen's own parts, registered through the same hooks as third-party plugins."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from maskgen.plugins.hookspecs import hookimpl
from maskgen.plugins.interfaces import AugmentContext, Augmenter, Options, PluginSpec

STYLEGAN2_CITATION = """@inproceedings{karras2020stylegan2,
  title     = {Analyzing and Improving the Image Quality of {StyleGAN}},
  author    = {Karras, Tero and Laine, Samuli and Aittala, Miika and Hellsten, Janne and Lehtinen, Jaakko
               and Aila, Timo},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2020}
}"""


AUTO = "auto"


class StyleGAN2Options(Options):
    z_dim: int = Field(512, ge=1)
    w_dim: int = Field(512, ge=1)
    mapping_layers: int = Field(8, ge=1)
    channel_base: int = Field(16384, ge=16)
    channel_max: int = Field(512, ge=4)
    # At least this many channels at every resolution: widens the top blocks, which channel_base alone
    # leaves narrowest although they draw the linework (16 at 64 px in the cpu preset). A run with a
    # larger channel_min can start (--init) from a narrower model: it is widened without changing what
    # it draws (maskgen.networks.widen).
    channel_min: int = Field(1, ge=1)
    conv_clamp: float | None = Field(256.0, gt=0, le=65504.0)  # at most fp16's largest value
    mbstd_group_size: int = Field(4, ge=1)
    # None: grouped per-sample conv on GPUs, one shared-weight conv on CPUs (same result, faster there).
    fused_modconv: bool | None = None
    # The highest N resolutions (>= 8 px) of G and D compute in 16 bits (bf16 where the hardware has
    # it): the reference's num_fp16_res. 0 keeps everything in fp32.
    mixed_precision_resolutions: int = Field(0, ge=0)
    # Per-pixel noise inputs only in blocks up to this resolution (None: every block, as in StyleGAN2).
    # On small sets of intricate masks G otherwise paints fine linework with the top blocks' noise,
    # which draws speckle (docs/training.md).
    noise_max_resolution: int | None = Field(None, ge=4)
    # Exact left-right symmetry: the right half of every image is the mirror of its left half. Most
    # lianpu are symmetric; crooked faces (歪脸) are not, so it is an option. "auto" (the presets'
    # choice) lets training decide from its data (maskgen.data.symmetry) and record the decision.
    symmetric: bool | Literal["auto"] = False
    # "projected": D looks through maskgen's frozen eye, a feature network trained on the built-in
    # masks, and only small heads learn (Sauer et al. 2021; maskgen.networks.projected). A run with it
    # can start from a base model with today's D: G is loaded, D starts new.
    # "both": today's D and the projected one judge together (their logits add; Kumari et al. 2022);
    # from a base model, today's half is loaded and the projected half starts new.
    discriminator: Literal["residual", "projected", "both"] = "residual"


def build_stylegan2(
    options: StyleGAN2Options, resolution: int, d_c_dim: int = 0, c_dim: int = 0
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """G conditioned on ``c_dim`` class columns (through its mapping network), D on ``d_c_dim`` columns
    (projection; a class-conditional run's D gets the class one-hot followed by the augmenter's c)."""
    from maskgen.networks import Discriminator, Generator

    if options.symmetric == AUTO:
        raise ValueError("symmetric='auto' is decided from the training data: only a new run can use it")
    generator = Generator(
        z_dim=options.z_dim,
        w_dim=options.w_dim,
        c_dim=c_dim,
        img_resolution=resolution,
        mapping_layers=options.mapping_layers,
        channel_base=options.channel_base,
        channel_max=options.channel_max,
        conv_clamp=options.conv_clamp,
        fused_modconv=options.fused_modconv if options.fused_modconv is not None else True,
        num_mixed_res=options.mixed_precision_resolutions,
        noise_max_resolution=options.noise_max_resolution,
        symmetric=options.symmetric,
        channel_min=options.channel_min,
    )
    projected = None
    if options.discriminator in ("projected", "both"):
        from maskgen.networks.projected import ProjectedDiscriminator, load_eye

        projected = ProjectedDiscriminator(
            resolution, load_eye(), c_dim=d_c_dim, mbstd_group_size=options.mbstd_group_size
        )
        if options.discriminator == "projected":
            return generator, projected
    discriminator = Discriminator(
        img_resolution=resolution,
        c_dim=d_c_dim,
        channel_base=options.channel_base,
        channel_max=options.channel_max,
        mbstd_group_size=options.mbstd_group_size,
        conv_clamp=options.conv_clamp,
        num_mixed_res=options.mixed_precision_resolutions,
        channel_min=options.channel_min,
    )
    if projected is not None:
        from maskgen.networks.projected import DiscriminatorPair

        return generator, DiscriminatorPair(discriminator, projected)
    return generator, discriminator


class NoAugmenter(Augmenter):
    """Plain StyleGAN2: images reach D unchanged."""

    def stats(self) -> dict[str, float]:
        return {"augment/strength": 0.0}


def build_none(options: Options, context: AugmentContext) -> Augmenter:
    return NoAugmenter()


@hookimpl
def maskgen_generators() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="generator",
            name="stylegan2",
            summary="StyleGAN2: mapping network, modulated convs, skip G, residual D; unconditional or "
            "conditional on the colour character (run --cond) (Karras et al. 2020)",
            factory=build_stylegan2,
            options=StyleGAN2Options,
            label="StyleGAN2",
            description="StyleGAN2 (Karras et al. 2020)",
            citation=STYLEGAN2_CITATION,
        )
    ]


@hookimpl
def maskgen_augmenters() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="augmenter",
            name="none",
            summary="No augmentation: the plain StyleGAN2 baseline",
            factory=build_none,
            label="StyleGAN2",
            description="no augmentation (plain StyleGAN2)",
        )
    ]


ESRGAN_CITATION = """@inproceedings{wang2018esrgan,
  title     = {{ESRGAN}: Enhanced Super-Resolution Generative Adversarial Networks},
  author    = {Wang, Xintao and Yu, Ke and Wu, Shixiang and Gu, Jinjin and Liu, Yihao and Dong, Chao
               and Qiao, Yu and Loy, Chen Change},
  booktitle = {European Conference on Computer Vision Workshops (ECCVW)},
  year      = {2018}
}"""


class RRDBOptions(Options):
    channels: int = Field(32, ge=4, le=512)
    blocks: int = Field(3, ge=1, le=64)
    growth: int = Field(16, ge=1, le=256)


def build_rrdb(options: RRDBOptions, scale: int) -> torch.nn.Module:
    from maskgen.networks.upscaler import RRDBUpscaler

    return RRDBUpscaler(scale=scale, channels=options.channels, blocks=options.blocks, growth=options.growth)


@hookimpl
def maskgen_upscalers() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="upscaler",
            name="rrdb",
            summary="Residual-in-residual dense blocks at the small size, sub-pixel output, added to "
            "bilinear enlargement (ESRGAN's layout, made small for CPUs; Wang et al. 2018)",
            factory=build_rrdb,
            options=RRDBOptions,
            label="RRDB upscaler",
            description="a residual-in-residual dense block upscaler (ESRGAN, Wang et al. 2018)",
            citation=ESRGAN_CITATION,
        )
    ]
