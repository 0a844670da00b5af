"""StyleGAN2 generator and residual discriminator (Karras et al. 2020, config-F-like).

Generator: mapping network z (+c) -> w, synthesis network with modulated/demodulated 3x3 convolutions,
per-pixel noise and a "skip" toRGB architecture. Discriminator: residual blocks, minibatch standard
deviation and projection conditioning.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from maskgen.networks.layers import (
    Conv2dLayer,
    FullyConnectedLayer,
    MinibatchStdLayer,
    bias_act,
    compute_dtype,
    fir_filter2d,
    make_fir_filter,
    normalize_2nd_moment,
    to_block_format,
    upsample2d,
)

NoiseMode = Literal["random", "const", "none"]
NOISE_MODES: tuple[str, ...] = ("random", "const", "none")


def check_resolution(resolution: int) -> int:
    """Return ``resolution`` if it is a power of two >= 4, else raise ValueError."""
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise ValueError(f"resolution must be an integer power of two >= 4, got {resolution!r}")
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return resolution


def channels_per_resolution(
    img_resolution: int, channel_base: int, channel_max: int, channel_min: int = 1
) -> dict[int, int]:
    """Feature channels at every resolution 4..img_resolution: min(channel_base // r, channel_max),
    raised to ``channel_min`` where that is fewer (the top blocks, where the linework is drawn).

    ``channel_min`` may not exceed the 4x4 width: the 4x4 features are flattened by D's fully
    connected layer, and a network that is only wider above 4 px can start from a narrower one's
    weights (:mod:`maskgen.networks.widen`).
    """
    log2 = int(math.log2(check_resolution(img_resolution)))
    channels = {2**i: min(channel_base // 2**i, channel_max) for i in range(2, log2 + 1)}
    if min(channels.values()) < 1:
        raise ValueError(
            f"channel_base={channel_base} gives no channels at {img_resolution}px; "
            f"it must be at least {img_resolution}"
        )
    if channel_min > channels[4]:
        raise ValueError(f"channel_min={channel_min} is more than the {channels[4]} channels at 4x4")
    return {res: max(c, channel_min) for res, c in channels.items()}


def mixed_precision_resolutions(img_resolution: int, num_mixed_res: int) -> set[int]:
    """The highest ``num_mixed_res`` resolutions, never below 8 px: those run in 16-bit precision.

    As in the reference (its ``num_fp16_res``): the large, cheap-to-round feature maps gain the most,
    while the small ones, where each value carries more of the image, stay in fp32.
    """
    if num_mixed_res < 0:
        raise ValueError(f"num_mixed_res must be >= 0, got {num_mixed_res}")
    if num_mixed_res == 0:
        return set()
    lowest = max(img_resolution // 2 ** (num_mixed_res - 1), 8)
    return {2**i for i in range(2, int(math.log2(img_resolution)) + 1) if 2**i >= lowest}


def _reject_unexpected_c(c: torch.Tensor | None, c_dim: int, who: str) -> None:
    # An unconditional network silently ignoring labels would hide a wiring bug; zero-width c
    # ([N, 0], what an unlabelled dataset yields) is accepted.
    if c_dim == 0 and c is not None and c.ndim >= 1 and c.shape[-1] != 0:
        raise ValueError(f"this {who} is unconditional (c_dim=0) but got c of shape {tuple(c.shape)}")


# --------------------------------------------------------------------------------------------------
# Modulated convolution
# --------------------------------------------------------------------------------------------------


def modulate_weights(
    weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Per-sample convolution weights [N, O, I, k, k] from a shared weight [O, I, k, k] and styles [N, I].

    Modulation scales each input channel by its style; demodulation rescales each output filter to
    unit L2 norm, which replaces AdaIN's data-dependent normalization (no droplet artifacts). ``eps``
    keeps it finite for an all-zero filter.
    """
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + eps).rsqrt()
    return w


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: bool = False,
    fir: torch.Tensor | None = None,
    fused: bool = True,
) -> torch.Tensor:
    """Modulated convolution of x [N, I, H, W] with weight [O, I, k, k] and styles [N, I].

    ``fused=True`` (default): ONE grouped convolution over the batch. The batch is folded into the
    channel axis ([1, N*I, H, W]) and each sample's own modulated weights form a group.
    ``fused=False``: the mathematically equal form that scales the input by the styles, runs an ordinary
    batched conv with the shared weight and scales the output by the demodulation coefficients; it
    never materializes per-sample weights (often faster for training on CPU).

    ``up=True`` gives a [N, O, 2H, 2W] output: stride-2 transposed convolution followed by the FIR
    filter (gain 4).
    """
    n, cin, h, w_ = x.shape
    cout, _, kh, kw = weight.shape
    if up and fir is None:
        raise ValueError("modulated_conv2d(up=True) needs the FIR filter")
    if x.dtype == torch.float16 and demodulate:
        # fp16 tops out at 65504: bring weights and styles to at most ~1 first, as the reference does.
        # Demodulation divides any per-filter or per-sample scale out again.
        weight = weight * (
            1 / math.sqrt(cin * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
        )
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    if fused:
        # Weights are modulated in their own (fp32) precision and only then cast to the input's type.
        wts = modulate_weights(weight, styles.to(weight.dtype), demodulate).to(x.dtype)
        x = x.reshape(1, n * cin, h, w_)
        if not up:
            y = F.conv2d(x, wts.reshape(n * cout, cin, kh, kw), padding=(kh // 2, kw // 2), groups=n)
            return y.reshape(n, cout, h, w_)
        # conv_transpose2d wants [in, out/groups, k, k]; the flip makes it equal to correlating the
        # zero-stuffed input with ``weight``, i.e. the same orientation as the non-upsampling path.
        wt = wts.transpose(1, 2).reshape(n * cin, cout, kh, kw).flip([2, 3])
        y = F.conv_transpose2d(x, wt, stride=2, groups=n)  # [1, N*O, 2H+k-2, 2W+k-2]
        y = y.reshape(n, cout, y.shape[2], y.shape[3])
    else:
        x = x * styles.to(x.dtype)[:, :, None, None]
        conv_weight = weight.to(x.dtype)
        if not up:
            y = F.conv2d(x, conv_weight, padding=(kh // 2, kw // 2))
        else:
            y = F.conv_transpose2d(x, conv_weight.transpose(0, 1).flip([2, 3]), stride=2)
        if demodulate:
            # sum_{i,k} (w[o,i,k] * s[n,i])^2 = s^2 @ (sum_k w^2)^T: the same coefficients as
            # modulate_weights, from an [N, O] product instead of an [N, O, I, k, k] tensor; computed
            # in the weights' precision.
            styles = styles.to(weight.dtype)
            dcoefs = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()
            y = y * dcoefs.to(y.dtype)[:, :, None, None]  # per-channel scale: commutes with the blur
    if not up:
        return y
    assert fir is not None
    # Blur padding so the result is exactly 2H: (2H + k - 2) + 2p - K + 1 = 2H.
    fk = fir.shape[-1]
    return fir_filter2d(y, fir, padding=(fk - kh + 1) // 2, gain=4.0)


# --------------------------------------------------------------------------------------------------
# Mapping network
# --------------------------------------------------------------------------------------------------


class MappingNetwork(nn.Module):
    """z (+ embedded c) -> w [N, w_dim] through ``num_layers`` FC+lrelu layers with a reduced lr.

    Broadcasting to ``num_ws``, the w_avg EMA and truncation live in :meth:`Generator.mapping`, so that
    the discriminator can reuse this network for its conditioning embedding (``z_dim=0``).
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_layers: int = 8,
        lr_multiplier: float = 0.01,
    ) -> None:
        super().__init__()
        if z_dim < 0 or c_dim < 0 or z_dim + c_dim == 0:
            raise ValueError("MappingNetwork needs z_dim > 0 or c_dim > 0")
        if num_layers < 1:
            raise ValueError("MappingNetwork needs at least one layer")
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        # c is embedded to w_dim features (plain lr) and normalized like z before concatenation.
        self.embed = FullyConnectedLayer(c_dim, w_dim) if c_dim > 0 else None
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        self.layers = nn.ModuleList(
            FullyConnectedLayer(fin, fout, activation="lrelu", lr_multiplier=lr_multiplier)
            for fin, fout in zip(features[:-1], features[1:], strict=True)
        )

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(
                    f"expected z of shape [N, {self.z_dim}], got {None if z is None else tuple(z.shape)}"
                )
            parts.append(normalize_2nd_moment(z))
        if self.embed is not None:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(
                    f"expected c of shape [N, {self.c_dim}], got {None if c is None else tuple(c.shape)}"
                )
            parts.append(normalize_2nd_moment(self.embed(c)))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for layer in self.layers:
            x = layer(x)
        return x


# --------------------------------------------------------------------------------------------------
# Synthesis network
# --------------------------------------------------------------------------------------------------


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally upsampling x2) + per-pixel noise + bias + lrelu + clamp."""

    #: Grouped-conv (True) or input/output-scaling (False) form of :func:`modulated_conv2d`.
    fused_modconv: bool = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        up: bool = False,
        conv_clamp: float | None = None,
        kernel_size: int = 3,
        use_noise: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.up = up
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)  # styles start at 1
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        # Equalized lr; demodulation makes the scale irrelevant, but it keeps the weights' role uniform.
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.use_noise = use_noise
        if use_noise:  # no parameter at all otherwise: DDP refuses parameters that get no gradient
            self.noise_strength = nn.Parameter(torch.zeros([]))
            # Fixed noise image for noise_mode="const": reproducible renderings.
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.register_buffer("fir", make_fir_filter(), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: NoiseMode = "random") -> torch.Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(
            x,
            self.weight * self.weight_gain,
            styles,
            demodulate=True,
            up=self.up,
            fir=self.fir,
            fused=self.fused_modconv,
        )
        if not self.use_noise:
            pass
        elif noise_mode == "random":
            noise = torch.randn(
                x.shape[0], 1, self.resolution, self.resolution, device=x.device, dtype=x.dtype
            )
            x = x + noise * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength
        return bias_act(x, self.bias, "lrelu", clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        noise = "" if self.use_noise else ", noise=off"
        return f"in={self.in_channels}, out={self.out_channels}, res={self.resolution}, up={self.up}{noise}"


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to image channels, without demodulation (the output scale matters)."""

    fused_modconv: bool = True

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None
    ) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.weight_gain = 1.0 / math.sqrt(in_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(
            x, self.weight * self.weight_gain, styles, demodulate=False, fused=self.fused_modconv
        )
        return bias_act(x, self.bias, "linear", clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const input | upsampling conv) + conv + toRGB added to the upsampled image."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        conv_clamp: float | None = None,
        mixed_precision: bool = False,
        use_noise: bool = True,
    ) -> None:
        super().__init__()
        self.resolution = resolution
        self.mixed_precision = mixed_precision
        self.conv0: SynthesisLayer | None = None
        self.const: nn.Parameter | None = None
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(
                in_channels,
                out_channels,
                w_dim,
                resolution,
                up=True,
                conv_clamp=conv_clamp,
                use_noise=use_noise,
            )
        self.conv1 = SynthesisLayer(
            out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp, use_noise=use_noise
        )
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2
        self.register_buffer("fir", make_fir_filter(), persistent=False)

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        noise_mode: NoiseMode = "random",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # ws: [N, num_conv + 1, w_dim]; the last one drives toRGB (and is shared with the next block's
        # first conv, as in the reference). Features run in the block's precision, the image in fp32.
        dtype = compute_dtype(self.mixed_precision, ws)
        if self.const is not None:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(to_block_format(x, dtype), ws[:, 0], noise_mode)
        else:
            assert self.conv0 is not None and x is not None
            x = self.conv0(to_block_format(x, dtype), ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        y = self.torgb(x, ws[:, self.num_conv]).to(dtype=ws.dtype, memory_format=torch.contiguous_format)
        img = y if img is None else upsample2d(img, self.fir) + y
        return x, img


def mirror_left_half(img: torch.Tensor) -> torch.Tensor:
    """The left half and its mirror image: exact left-right symmetry, gradients reaching the left half
    from both sides. For an odd width the middle column is kept."""
    width = img.shape[-1]
    left = img[..., : (width + 1) // 2]
    return torch.cat([left, left[..., : width // 2].flip(-1)], dim=-1)


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R]."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 16384,
        channel_max: int = 512,
        conv_clamp: float | None = 256,
        num_mixed_res: int = 0,
        noise_max_resolution: int | None = None,
        symmetric: bool = False,
        channel_min: int = 1,
    ) -> None:
        super().__init__()
        channels = channels_per_resolution(img_resolution, channel_base, channel_max, channel_min)
        mixed = mixed_precision_resolutions(img_resolution, num_mixed_res)
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.symmetric = symmetric
        self.block_resolutions = sorted(channels)
        self.blocks = nn.ModuleList(
            SynthesisBlock(
                channels[res // 2] if res > 4 else 0,
                channels[res],
                w_dim,
                res,
                img_channels,
                conv_clamp=conv_clamp,
                mixed_precision=res in mixed,
                use_noise=noise_max_resolution is None or res <= noise_max_resolution,
            )
            for res in self.block_resolutions
        )
        # One w per conv plus one for the final toRGB: 2 * log2(R) - 2.
        self.num_ws = sum(b.num_conv for b in self.blocks) + 1

    def forward(self, ws: torch.Tensor, noise_mode: NoiseMode = "random") -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"expected ws of shape [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        x = img = None
        idx = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, idx : idx + block.num_conv + 1], noise_mode)
            idx += block.num_conv
        assert img is not None
        return mirror_left_half(img) if self.symmetric else img


class Generator(nn.Module):
    """StyleGAN2 generator: ``G(z, c) -> image`` in roughly [-1, 1]."""

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        c_dim: int = 0,
        img_resolution: int = 256,
        img_channels: int = 3,
        mapping_layers: int = 8,
        channel_base: int = 16384,
        channel_max: int = 512,
        mapping_lr_multiplier: float = 0.01,
        conv_clamp: float | None = 256,
        w_avg_beta: float = 0.995,
        fused_modconv: bool = True,
        num_mixed_res: int = 0,
        noise_max_resolution: int | None = None,
        symmetric: bool = False,
        channel_min: int = 1,
    ) -> None:
        super().__init__()
        check_resolution(img_resolution)
        if z_dim < 1 or w_dim < 1 or c_dim < 0 or img_channels < 1:
            raise ValueError("Generator needs z_dim >= 1, w_dim >= 1, c_dim >= 0 and img_channels >= 1")
        self.z_dim = z_dim
        self.w_dim = w_dim
        self.c_dim = c_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.synthesis_network = SynthesisNetwork(
            w_dim,
            img_resolution,
            img_channels,
            channel_base,
            channel_max,
            conv_clamp,
            num_mixed_res,
            noise_max_resolution=noise_max_resolution,
            symmetric=symmetric,
            channel_min=channel_min,
        )
        self.num_ws: int = self.synthesis_network.num_ws
        self.mapping_network = MappingNetwork(
            z_dim, c_dim, w_dim, num_layers=mapping_layers, lr_multiplier=mapping_lr_multiplier
        )
        self.w_avg_beta = w_avg_beta
        # EMA of w over training: the centre that truncation pulls towards.
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.fused_modconv = fused_modconv

    @property
    def fused_modconv(self) -> bool:
        """Whether modulated convs run as one grouped conv (True) or as scale-conv-scale (False).

        Both give the same result up to float rounding; switch freely (e.g. per training/inference).
        """
        return self._fused_modconv

    @fused_modconv.setter
    def fused_modconv(self, value: bool) -> None:
        self._fused_modconv = bool(value)
        for m in self.synthesis_network.modules():
            if isinstance(m, (SynthesisLayer, ToRGBLayer)):
                m.fused_modconv = self._fused_modconv

    def mapping(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_w_avg: bool = False,
    ) -> torch.Tensor:
        """z [N, z_dim] (+ c [N, c_dim]) -> ws [N, num_ws, w_dim].

        ``update_w_avg`` moves ``w_avg`` towards this batch's mean w (training only). Truncation replaces
        the first ``truncation_cutoff`` ws (all when None) by ``w_avg + psi * (w - w_avg)``.
        """
        _reject_unexpected_c(c, self.c_dim, "generator")
        w = self.mapping_network(z, c)
        if update_w_avg:
            with torch.no_grad():
                batch_mean = w.detach().mean(dim=0).to(self.w_avg.dtype)
                self.w_avg.copy_(batch_mean.lerp(self.w_avg, self.w_avg_beta))
        ws = w.unsqueeze(1).expand(-1, self.num_ws, -1)
        if truncation_psi != 1.0:
            cut = self.num_ws if truncation_cutoff is None else max(0, min(truncation_cutoff, self.num_ws))
            w_avg = self.w_avg.to(ws.dtype)
            head = w_avg + truncation_psi * (ws[:, :cut] - w_avg)
            ws = torch.cat([head, ws[:, cut:]], dim=1)
        return ws.contiguous()

    def synthesis(self, ws: torch.Tensor, noise_mode: NoiseMode = "random") -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> images [N, img_channels, R, R]."""
        return self.synthesis_network(ws, noise_mode)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: NoiseMode = "random",
        update_w_avg: bool = False,
    ) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff, update_w_avg)
        return self.synthesis(ws, noise_mode)


# --------------------------------------------------------------------------------------------------
# Discriminator
# --------------------------------------------------------------------------------------------------


def class_map(mapping: MappingNetwork | None, c: torch.Tensor | None, c_dim: int) -> torch.Tensor | None:
    """A discriminator's class embedding for projection conditioning (None when unconditional); one
    clear error when c is missing or given to an unconditional D."""
    _reject_unexpected_c(c, c_dim, "discriminator")
    if mapping is None:
        return None
    if c is None:
        raise ValueError(f"this discriminator is conditional: pass c of shape [N, {c_dim}]")
    return mapping(None, c)


class DiscriminatorBlock(nn.Module):
    """Residual block: conv3x3, conv3x3 down, plus a 1x1 down skip; the sum is scaled by sqrt(0.5)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        conv_clamp: float | None = None,
        mixed_precision: bool = False,
    ) -> None:
        super().__init__()
        self.mixed_precision = mixed_precision
        self.conv0 = Conv2dLayer(in_channels, in_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(
            in_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp
        )
        self.skip = Conv2dLayer(in_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # sqrt(0.5) on both branches keeps the variance of the sum equal to that of each branch.
        gain = math.sqrt(0.5)
        y = self.skip(x, gain=gain)
        x = self.conv1(self.conv0(x), gain=gain)
        return x + y


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator: ``D(img, c) -> logits [N, 1]``."""

    def __init__(
        self,
        img_resolution: int = 256,
        img_channels: int = 3,
        c_dim: int = 0,
        channel_base: int = 16384,
        channel_max: int = 512,
        mbstd_group_size: int = 4,
        mbstd_num_channels: int = 1,
        conv_clamp: float | None = 256,
        cmap_dim: int | None = None,
        num_mixed_res: int = 0,
        channel_min: int = 1,
    ) -> None:
        super().__init__()
        channels = channels_per_resolution(img_resolution, channel_base, channel_max, channel_min)
        mixed = mixed_precision_resolutions(img_resolution, num_mixed_res)
        # fromRGB belongs to the first block (as in the reference) and shares its precision.
        self.from_rgb_mixed = img_resolution in mixed
        if img_channels < 1 or c_dim < 0:
            raise ValueError("Discriminator needs img_channels >= 1 and c_dim >= 0")
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.c_dim = c_dim
        c4 = channels[4]
        if c4 % mbstd_num_channels:
            raise ValueError(f"mbstd_num_channels={mbstd_num_channels} must divide the {c4} channels at 4x4")
        self.cmap_dim = 0 if c_dim == 0 else (c4 if cmap_dim is None else cmap_dim)
        if c_dim > 0 and self.cmap_dim < 1:
            raise ValueError("cmap_dim must be >= 1")

        self.from_rgb = Conv2dLayer(
            img_channels, channels[img_resolution], 1, activation="lrelu", conv_clamp=conv_clamp
        )
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(
                channels[res], channels[res // 2], conv_clamp=conv_clamp, mixed_precision=res in mixed
            )
            for res in sorted(channels, reverse=True)
            if res > 4
        )
        # Projection conditioning: c -> cmap, compared with the features by a scaled dot product.
        self.mapping = MappingNetwork(0, c_dim, self.cmap_dim) if c_dim > 0 else None
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels)
        self.conv = Conv2dLayer(c4 + mbstd_num_channels, c4, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(c4 * 4 * 4, c4, activation="lrelu")
        self.out = FullyConnectedLayer(c4, self.cmap_dim if c_dim > 0 else 1)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        r = self.img_resolution
        if img.ndim != 4 or img.shape[1:] != (self.img_channels, r, r):
            raise ValueError(
                f"expected images of shape [N, {self.img_channels}, {r}, {r}], got {tuple(img.shape)}"
            )
        cmap = class_map(self.mapping, c, self.c_dim)
        x = self.from_rgb(to_block_format(img, compute_dtype(self.from_rgb_mixed, img)))
        for block in self.blocks:
            x = block(to_block_format(x, compute_dtype(block.mixed_precision, img)))
        x = self.conv(self.mbstd(to_block_format(x, img.dtype)))  # the 4x4 epilogue: full precision
        x = self.fc(x.flatten(1))
        x = self.out(x)
        if cmap is not None:
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x
