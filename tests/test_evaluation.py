"""Evaluation metrics: distances agree with clean-fid, SSIM with skimage, LPIPS and masknet behave."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.linalg
import torch
from cleanfid.fid import fid_from_feats, kernel_distance
from pytorch_msssim import ms_ssim
from skimage.metrics import structural_similarity

from maskgen.data.procedural import render_masks
from maskgen.errors import MaskgenError
from maskgen.evaluation.features.masknet import load_masknet, shipped_info, shipped_weights_path
from maskgen.evaluation.features.networks import extract_features, feature_network
from maskgen.evaluation.features.perceptual import AlexLpips, MasknetLpips
from maskgen.evaluation.imagesets import as_float
from maskgen.evaluation.imagesets.pairing import cross_pairs, within_pairs
from maskgen.evaluation.metrics.distances import frechet, kernel
from maskgen.evaluation.metrics.similarity import (
    MsssimSetup,
    msssim_batch,
    msssim_scales,
    msssim_setup,
    ssim_batch,
)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def masks32() -> tuple[np.ndarray, np.ndarray]:
    return render_masks(120, 32, seed=11)


# --------------------------------------------------------------------------------------------------
# FD / KD
# --------------------------------------------------------------------------------------------------


def test_frechet_and_kernel_agree_with_cleanfid() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(120, 16)), rng.normal(0.3, 1.2, size=(100, 16))
    assert frechet(a, b) == pytest.approx(fid_from_feats(a, b), abs=1e-6)
    np.random.seed(5)
    expected = kernel_distance(a, b)
    assert kernel(a, b, seed=5) == pytest.approx(expected, abs=1e-6)
    # The global numpy state is left as it was.
    np.random.seed(1)
    before = np.random.rand()
    np.random.seed(1)
    kernel(a, b, seed=5, num_subsets=2)
    assert np.random.rand() == before


def test_frechet_matches_hand_computed_formula() -> None:
    rng = np.random.default_rng(1)
    a = rng.multivariate_normal([0, 1, 2], [[1, 0.3, 0], [0.3, 2, 0.1], [0, 0.1, 0.5]], size=60)
    b = rng.multivariate_normal([0.5, 1, 1], [[2, 0, 0], [0, 1, 0.4], [0, 0.4, 1]], size=40)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert frechet(a, b) == pytest.approx(expected, abs=1e-6)


def test_frechet_of_a_set_with_itself_is_zero_and_grows_with_a_shift() -> None:
    feats = np.random.default_rng(2).normal(size=(400, 8))
    assert abs(frechet(feats, feats)) < 1e-6
    distances = [frechet(feats, feats + shift) for shift in (0.25, 0.5, 1.0)]
    # A pure mean shift leaves the covariances equal: FD = |shift|^2 * dim exactly.
    assert distances == pytest.approx([0.0625 * 8, 0.25 * 8, 8.0], abs=1e-6)


def test_masknet_fd_grows_as_images_are_shifted(masks32: tuple[np.ndarray, np.ndarray]) -> None:
    net = feature_network("masknet", CPU)
    images = masks32[0][:80]
    base = extract_features(net, images)
    # 80 samples of 256 dims: singular covariances, so sqrtm leaves a little numerical noise.
    assert abs(frechet(base, extract_features(net, images))) < 1e-3
    darker = [
        frechet(base, extract_features(net, (images * (1 - s)).astype(np.uint8))) for s in (0.1, 0.3, 0.6)
    ]
    assert 0 < darker[0] < darker[1] < darker[2]


def test_distances_refuse_mismatched_or_tiny_sets() -> None:
    with pytest.raises(MaskgenError):
        frechet(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(MaskgenError):
        kernel(np.zeros((1, 3)), np.zeros((5, 3)))


# --------------------------------------------------------------------------------------------------
# SSIM / MS-SSIM
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
def test_ssim_agrees_with_skimage(size: int) -> None:
    a_u8, _ = render_masks(4, size, seed=3)
    rng = np.random.default_rng(0)
    b_u8 = np.clip(a_u8.astype(int) + rng.integers(-40, 40, a_u8.shape), 0, 255).astype(np.uint8)
    b_u8[1] = render_masks(2, size, seed=4)[0][1]  # an unrelated mask too
    ours = ssim_batch(as_float(a_u8), as_float(b_u8)).numpy()
    for i in range(len(a_u8)):
        reference = structural_similarity(
            a_u8[i] / 255.0,
            b_u8[i] / 255.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=-1,
        )
        assert ours[i] == pytest.approx(reference, abs=1e-3)


def test_msssim_loop_equals_pytorch_msssim_at_the_standard_setup() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 176, 176, generator=gen)
    b = (a + 0.2 * torch.rand(2, 3, 176, 176, generator=gen)).clamp(0, 1)
    expected = ms_ssim(a, b, data_range=1.0, size_average=False)
    torch.testing.assert_close(msssim_scales(a, b, MsssimSetup(11, 5)), expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(msssim_batch(a, b), expected)


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_msssim_works_on_small_images(size: int) -> None:
    setup = msssim_setup(size)
    assert not setup.standard and setup.label.startswith("MS-SSIM (window")
    a = as_float(render_masks(3, size, seed=1)[0])
    b = as_float(render_masks(3, size, seed=2)[0])
    with_self = msssim_batch(a, a)
    assert torch.allclose(with_self, torch.ones(3), atol=1e-5)
    assert (msssim_batch(a, b) < 0.99).all()
    assert msssim_setup(256).standard


# --------------------------------------------------------------------------------------------------
# LPIPS
# --------------------------------------------------------------------------------------------------


def test_lpips_masknet_is_zero_for_identical_images_and_positive_otherwise(masks32) -> None:
    metric = MasknetLpips(CPU)
    a, b = as_float(masks32[0][:6]), as_float(masks32[0][6:12])
    assert torch.all(metric(a, a).abs() < 1e-6)
    assert torch.all(metric(a, b) > 0)


def test_lpips_alex_loads_a_given_alexnet_file(tmp_path, masks32) -> None:
    from torchvision.models import alexnet

    path = tmp_path / "alexnet.pth"
    torch.save(alexnet(weights=None).state_dict(), path)  # random weights: only the loading is tested
    metric = AlexLpips(CPU, weights=path)
    a, b = as_float(masks32[0][:4]), as_float(masks32[0][4:8])
    assert torch.all(metric(a, a).abs() < 1e-6)
    assert torch.all(metric(a, b) > 0)
    bad = tmp_path / "bad.pth"
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(MaskgenError, match="not torchvision's AlexNet"):
        AlexLpips(CPU, weights=bad)


def test_pairings_are_seeded_and_never_pair_an_image_with_itself() -> None:
    a1, b1 = cross_pairs(10, 7, seed=3)
    a2, b2 = cross_pairs(10, 7, seed=3)
    assert len(a1) == 7 and np.array_equal(a1, a2) and np.array_equal(b1, b2)
    assert len(set(a1)) == 7 and len(set(b1)) == 7
    x, y = within_pairs(9, seed=0)
    assert len(x) == 4 and not set(x) & set(y) and len(set(x) | set(y)) == 8


# --------------------------------------------------------------------------------------------------
# masknet
# --------------------------------------------------------------------------------------------------


def test_shipped_masknet_classifies_heldout_procedural_masks() -> None:
    assert shipped_weights_path().suffix == ".safetensors" and shipped_weights_path().is_file()
    size_mb = shipped_weights_path().stat().st_size / 2**20
    assert 0.2 < size_mb < 5
    model = load_masknet()
    info = shipped_info()
    # A dataset seed masknet was neither trained nor validated on.
    assert 777 not in (info["config"]["seed"], info["config"]["holdout_seed"])
    for size in (64, 32):
        images, labels = render_masks(210, size, seed=777)
        with torch.no_grad():
            predicted = model(as_float(images))["colour"].argmax(1).numpy()
        assert (predicted == labels).mean() >= 0.95, size


def test_masknet_features_shape_and_speed(masks32) -> None:
    net = feature_network("masknet", CPU)
    started = time.perf_counter()
    feats = extract_features(net, masks32[0])
    assert feats.shape == (120, 256) and feats.dtype == np.float64 and np.isfinite(feats).all()
    assert time.perf_counter() - started < 20


def test_masknet_loads_only_safetensors(tmp_path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(MaskgenError, match="unreadable masknet weights"):
        load_masknet(path)
    with pytest.raises(MaskgenError, match="not found"):
        load_masknet(tmp_path / "absent.safetensors")
