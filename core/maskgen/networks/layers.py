"""Low-level building blocks shared by the StyleGAN2 generator and discriminator.

Everything here is device-agnostic and works in fp32 on CPU. Conventions follow Karras et al. 2020
("Analyzing and Improving the Image Quality of StyleGAN"):

* equalized learning rate: parameters are stored with unit variance (divided by the lr multiplier) and
  scaled at runtime, so that Adam's per-parameter step size is the same for every layer;
* activations are leaky ReLU (slope 0.2) followed by a gain of sqrt(2) that keeps the signal variance;
* resampling uses the separable [1, 3, 3, 1] FIR filter (anti-aliasing).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

Activation = Literal["linear", "lrelu"]

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # keeps the second moment of lrelu(x) equal to that of x for x ~ N(0, 1)
DEFAULT_FIR_TAPS: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0)


# --------------------------------------------------------------------------------------------------
# Mixed precision
# --------------------------------------------------------------------------------------------------


def reduced_precision_dtype(device: torch.device) -> torch.dtype | None:
    """The 16-bit type for mixed-precision layers on ``device``; None where 16 bits would not pay.

    bfloat16 where the hardware computes in it (the fp32 exponent range: no loss scaling, no
    overflow); float16 on GPUs without bf16, kept in range by the layers' conv clamp as in the
    reference; None on CPUs without native bf16, where emulating it is slower than fp32.
    """
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu":
        return torch.bfloat16 if cpu_computes_bf16() else None
    return torch.bfloat16


@functools.cache  # asked by every mixed-precision block on every forward; the hardware never changes
def cpu_computes_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (e.g. AVX512-BF16, AMX) that oneDNN uses."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def compute_dtype(mixed_precision: bool, like: torch.Tensor) -> torch.dtype:
    """A block's compute type: 16 bits for a mixed-precision block, else that of the network input."""
    reduced = reduced_precision_dtype(like.device) if mixed_precision else None
    return like.dtype if reduced is None else reduced


def to_block_format(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``x`` in a block's compute type; 16-bit blocks also use channels-last, which their convs prefer."""
    is_16bit = dtype in (torch.float16, torch.bfloat16)
    memory_format = torch.channels_last if is_16bit else torch.contiguous_format
    return x.to(dtype=dtype, memory_format=memory_format)


# --------------------------------------------------------------------------------------------------
# Elementwise helpers
# --------------------------------------------------------------------------------------------------


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale ``x`` so that its mean square along ``dim`` is 1 (pixel norm of the latent)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: Activation = "linear",
    gain: float = 1.0,
    clamp: float | None = None,
) -> torch.Tensor:
    """Add a per-channel bias (dim 1), apply the activation and its gain, then clamp to ``±clamp``.

    The clamp bounds activations so a diverging layer cannot produce inf/NaN (and, in 16 bits, keeps
    fp16 in range); ``None`` disables it.
    """
    if activation not in ("linear", "lrelu"):
        raise ValueError(f"unknown activation {activation!r}")
    if bias is not None:
        bias = bias.to(x.dtype)
    if activation == "linear" and gain == 1.0 and clamp is None:
        return x if bias is None else x + bias.reshape([1, -1] + [1] * (x.ndim - 2))
    return _BiasAct.apply(x, bias, activation, gain, clamp)


def _bias_act_forward(
    x: torch.Tensor, bias: torch.Tensor | None, activation: Activation, gain: float, clamp: float | None
) -> torch.Tensor:
    # lrelu(v) * g = lrelu(v * g) for g > 0: bias and gain in one pass, then in-place activation and clamp.
    if activation == "lrelu":
        gain = gain * LRELU_GAIN
    if bias is None:
        y = x * gain
    else:
        y = torch.add(bias.reshape([1, -1] + [1] * (x.ndim - 2)) * gain, x, alpha=gain)
    if activation == "lrelu":
        y = F.leaky_relu_(y, LRELU_SLOPE)
    return y if clamp is None else y.clamp_(-clamp, clamp)


class _BiasAct(torch.autograd.Function):
    """:func:`bias_act` with a hand-written gradient that needs only the output.

    Autograd's composite saves three intermediates and spends several passes on the clamp's mask; the
    derivative of every step here is a function of the output alone (its sign and whether it was
    clamped), computed by :class:`_BiasActGrad` in two passes.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        bias: torch.Tensor | None,
        activation: Activation,
        gain: float,
        clamp: float | None,
    ) -> torch.Tensor:
        y = _bias_act_forward(x, bias, activation, gain, clamp)
        ctx.save_for_backward(y)
        ctx.settings = (activation, gain, clamp)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (y,) = ctx.saved_tensors
        grad_x = _BiasActGrad.apply(grad, y, *ctx.settings)
        grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_bias = grad_x.sum([d for d in range(grad_x.ndim) if d != 1])
        return grad_x, grad_bias, None, None, None


class _BiasActGrad(torch.autograd.Function):
    """grad -> grad * f'(x), with f' read off the output y: gain (times the slope where y < 0), zero
    where y was clamped. Linear in ``grad`` with a piecewise-constant factor, so its own gradient is
    the same map and its gradient with respect to y is zero almost everywhere (R1, path length)."""

    @staticmethod
    def forward(
        ctx: Any,
        grad: torch.Tensor,
        y: torch.Tensor,
        activation: Activation,
        gain: float,
        clamp: float | None,
    ) -> torch.Tensor:
        ctx.save_for_backward(y)
        ctx.settings = (activation, gain, clamp)
        if clamp is not None:
            grad = torch.ops.aten.hardtanh_backward(grad, y, -clamp, clamp)
        if activation == "lrelu":
            grad = torch.ops.aten.leaky_relu_backward(grad, y, LRELU_SLOPE, True)
            gain = gain * LRELU_GAIN
        return grad * gain if gain != 1.0 else grad

    @staticmethod
    def backward(ctx: Any, grad_grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (y,) = ctx.saved_tensors
        return _BiasActGrad.apply(grad_grad, y, *ctx.settings), None, None, None, None


# --------------------------------------------------------------------------------------------------
# FIR resampling
# --------------------------------------------------------------------------------------------------


def make_fir_filter(
    taps: Sequence[float] = DEFAULT_FIR_TAPS, device: torch.device | None = None
) -> torch.Tensor:
    """2-D separable FIR filter: outer product of ``taps`` with itself, normalized to sum 1."""
    f = torch.as_tensor(list(taps), dtype=torch.float32, device=device)
    if f.ndim != 1 or f.numel() < 1:
        raise ValueError("FIR taps must be a non-empty 1-D sequence")
    f = torch.outer(f, f)
    return f / f.sum()


def _separable_taps(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The 1-D row and column taps of a separable 2-D filter (``make_fir_filter`` makes only those)."""
    return f.sum(1), f.sum(0) / f.sum()


def _correlate1d(x: torch.Tensor, taps: torch.Tensor, dim: int, stride: int = 1) -> torch.Tensor:
    """Valid 1-D correlation of ``x`` along ``dim`` (-1 or -2) with ``taps``, keeping every stride-th output.

    Written as a few shifted multiply-adds, for the resampling filters (upsample2d, downsample2d):
    there half of the taps meet inserted zeros, or only every second output is kept, which a
    convolution would compute anyway. Full-resolution filtering (:func:`fir_filter2d`) is one
    depthwise convolution instead.
    """
    k = taps.shape[0]
    length = x.shape[dim]
    out = (length - k) // stride + 1
    span = (out - 1) * stride + 1
    y = None
    for j in range(k):
        window = x[..., j : j + span : stride] if dim == -1 else x[..., j : j + span : stride, :]
        term = window * taps[j]
        y = term if y is None else y + term
    return y


def fir_filter2d(
    x: torch.Tensor,
    f: torch.Tensor,
    padding: int | tuple[int, int, int, int] = 0,
    gain: float = 1.0,
) -> torch.Tensor:
    """Convolve every channel of ``x`` [N, C, H, W] with the 2-D filter ``f`` (zero padding).

    ``padding`` is one int or (left, right, top, bottom) as in :func:`torch.nn.functional.pad`;
    negative values crop.
    """
    pad = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
    # A true convolution flips the filter (a no-op for the symmetric filters used here).
    taps = (f.flip([0, 1]) * gain).to(dtype=x.dtype)
    return _DepthwiseCorrelation.apply(x, taps, pad)


def _depthwise_correlate(x: torch.Tensor, taps: torch.Tensor, pad: tuple[int, ...]) -> torch.Tensor:
    left, right, top, bottom = pad
    padding = (top, left)
    if left != right or top != bottom or min(pad) < 0:  # the convolution pads only symmetrically
        x, padding = F.pad(x, pad), (0, 0)
    channels = x.shape[1]
    weight = taps.expand(channels, 1, *taps.shape).contiguous()
    return F.conv2d(x, weight, padding=padding, groups=channels)


class _DepthwiseCorrelation(torch.autograd.Function):
    """Zero-pad, then correlate every channel with the same small filter: one depthwise convolution.

    Its gradient is the same operation with the flipped filter and complementary padding, so the
    backward and double-backward passes (R1, path length) run this fast forward kernel too, instead of
    autograd's generic convolution double backward, which is several times slower for these shapes.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, taps: torch.Tensor, pad: tuple[int, ...]) -> torch.Tensor:
        ctx.save_for_backward(taps)
        ctx.pad = pad
        return _depthwise_correlate(x, taps, pad)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (taps,) = ctx.saved_tensors
        kh, kw = taps.shape
        left, right, top, bottom = ctx.pad
        adjoint_pad = (kw - 1 - left, kw - 1 - right, kh - 1 - top, kh - 1 - bottom)
        return _DepthwiseCorrelation.apply(grad, taps.flip([0, 1]), adjoint_pad), None, None


def _upsample1d(x: torch.Tensor, taps: torch.Tensor, dim: int) -> torch.Tensor:
    # Zero insertion then FIR interpolation with gain 2 per axis; padding chosen so that the output is
    # exactly twice as long and aligned like a stride-2 transposed convolution with padding (K-2)/2.
    k = taps.shape[0]
    zeros = torch.zeros_like(x)
    stacked = torch.stack([x, zeros], dim=dim if dim == -1 else -2)
    if dim == -1:
        u = stacked.reshape(*x.shape[:-1], 2 * x.shape[-1])
        u = F.pad(u, (k - 1 - (k - 2) // 2, (k - 2) // 2))
    else:
        u = stacked.reshape(*x.shape[:-2], 2 * x.shape[-2], x.shape[-1])
        u = F.pad(u, (0, 0, k - 1 - (k - 2) // 2, (k - 2) // 2))
    return _correlate1d(u, (taps * 2).flip(0), dim=dim)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Upsample [N, C, H, W] -> [N, C, 2H, 2W]: zero insertion followed by FIR interpolation.

    The filter is scaled by 4 = up**2 so that a constant image stays constant.
    """
    kh, kw = f.shape
    if kh % 2 or kw % 2:
        raise ValueError("upsample2d needs an even-length filter to give exactly 2x the size")
    rows, cols = _separable_taps(f.to(dtype=x.dtype))
    return _upsample1d(_upsample1d(x, cols, dim=-1), rows, dim=-2)


def downsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Downsample [N, C, H, W] -> [N, C, H/2, W/2]: FIR low-pass then keep every second pixel."""
    kh, kw = f.shape
    if kh % 2 or kw % 2:
        raise ValueError("downsample2d needs an even-length filter to give exactly half the size")
    rows, cols = _separable_taps(f.to(dtype=x.dtype))
    x = F.pad(x, ((kw - 2) // 2,) * 2 + ((kh - 2) // 2,) * 2)
    y = _correlate1d(x, cols.flip(0), dim=-1, stride=2)
    return _correlate1d(y, rows.flip(0), dim=-2, stride=2)


# --------------------------------------------------------------------------------------------------
# Equalized-learning-rate layers
# --------------------------------------------------------------------------------------------------


class FullyConnectedLayer(nn.Module):
    """Linear layer with equalized learning rate.

    Stored weight ~ N(0, 1) / lr_multiplier, runtime weight = stored * lr_multiplier / sqrt(in_features);
    stored bias = bias_init / lr_multiplier, runtime bias = stored * lr_multiplier (so it starts at
    ``bias_init`` whatever the multiplier).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: Activation = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"FullyConnectedLayer needs positive sizes, got {in_features}->{out_features}")
        self.in_features = in_features
        self.out_features = out_features
        self.activation: Activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = (
            nn.Parameter(torch.full([out_features], float(bias_init) / lr_multiplier)) if bias else None
        )
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def runtime_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def runtime_bias(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias * self.bias_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.runtime_weight().to(x.dtype)
        b = self.runtime_bias()
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.to(x.dtype).unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, self.activation)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, activation={self.activation}"


class Conv2dLayer(nn.Module):
    """2-D convolution with equalized learning rate, optional FIR downsampling (x2) and clamp.

    ``down=2`` low-passes with the FIR filter before a stride-2 convolution, which keeps the layer
    free of aliasing (used by the discriminator).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: Activation = "linear",
        down: int = 1,
        conv_clamp: float | None = None,
        lr_multiplier: float = 1.0,
        fir_taps: Sequence[float] = DEFAULT_FIR_TAPS,
    ) -> None:
        super().__init__()
        if down not in (1, 2):
            raise ValueError(f"Conv2dLayer supports down in (1, 2), got {down}")
        if kernel_size % 2 != 1:
            raise ValueError("Conv2dLayer needs an odd kernel size")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.activation: Activation = activation
        self.down = down
        self.conv_clamp = conv_clamp
        self.weight = nn.Parameter(
            torch.randn(out_channels, in_channels, kernel_size, kernel_size) / lr_multiplier
        )
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_channels * kernel_size * kernel_size)
        self.bias_gain = lr_multiplier
        # Not persistent: it is a constant, rebuilt at construction, so checkpoints need not carry it.
        self.register_buffer("fir", make_fir_filter(fir_taps), persistent=False)

    def runtime_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.runtime_weight().to(x.dtype)
        k = self.kernel_size
        if self.down == 1:
            x = F.conv2d(x, w, padding=k // 2)
        elif k == 1:
            # Blur and 1x1 conv commute; downsampling first does the conv on a quarter of the pixels.
            x = F.conv2d(downsample2d(x, self.fir), w)
        else:
            # Pad so that blur (K taps) + stride-2 conv (k taps) gives exactly H/2: p = (K + k - 3) / 2.
            fk = self.fir.shape[-1]
            x = fir_filter2d(x, self.fir, padding=(fk + k - 3) // 2)
            x = F.conv2d(x, w, stride=2)
        b = None if self.bias is None else self.bias * self.bias_gain
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, b, self.activation, gain=gain, clamp=clamp)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, out={self.out_channels}, k={self.kernel_size}, down={self.down}, "
            f"activation={self.activation}, clamp={self.conv_clamp}"
        )


class MinibatchStdLayer(nn.Module):
    """Append the mean (over features and pixels) of the per-group standard deviation as new channels.

    Lets the discriminator see batch statistics and so penalize mode collapse. The group size is the
    largest divisor of the batch not above ``group_size``, so any batch size works.
    """

    def __init__(self, group_size: int = 4, num_channels: int = 1) -> None:
        super().__init__()
        if group_size < 1 or num_channels < 1:
            raise ValueError("MinibatchStdLayer needs group_size >= 1 and num_channels >= 1")
        self.group_size = group_size
        self.num_channels = num_channels

    @staticmethod
    def effective_group_size(batch: int, group_size: int) -> int:
        g = max(1, min(group_size, batch))
        while batch % g:
            g -= 1
        return g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = self.effective_group_size(n, self.group_size)
        f = self.num_channels
        if c % f:
            raise ValueError(f"minibatch-stddev: {c} channels are not divisible into {f} groups")
        # Sample i belongs to group i % (n / g).
        y = x.reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()  # [n/g, F, c/F, H, W]
        y = y.mean(dim=[2, 3, 4])  # [n/g, F]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"
