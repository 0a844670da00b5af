"""Finding the standard pretrained weight files (Inception for FID, AlexNet for LPIPS, ResNet18 for the
classification test) without ever waiting on the network.

A file is looked up, in order, at: the path the user gave (``--weights``), ``$MASKGEN_WEIGHTS/<file>``,
torch's hub cache ``$TORCH_HOME/hub/checkpoints/<file>`` (``~/.cache/torch/hub/checkpoints``, where
torchvision puts its downloads), and for Inception also clean-fid's own cache (``/tmp`` on Linux). When
none exists, the error says in one line which file is missing and where to put it. Nothing is
downloaded unless asked for (``--download``); a download has a short timeout and fails in one line.
"""

from __future__ import annotations

import os
import platform
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from maskgen.errors import MaskgenError
from maskgen.outputs import atomic_write

ENV_DIR = "MASKGEN_WEIGHTS"
DOWNLOAD_TIMEOUT_S = 20.0


def _cleanfid_cache() -> Path:
    # clean-fid downloads its Inception model to "./" on Windows and to /tmp elsewhere (features.py).
    return Path("./") if platform.system() == "Windows" else Path("/tmp")


@dataclass(frozen=True)
class WeightFile:
    """One standard weight file: its name, where it is published, what it is for."""

    key: str
    filename: str
    url: str
    what: str
    cleanfid: bool = False

    def search_paths(self) -> list[Path]:
        paths = []
        if os.environ.get(ENV_DIR):
            paths.append(Path(os.environ[ENV_DIR]).expanduser() / self.filename)
        paths.append(hub_checkpoints_dir() / self.filename)
        if self.cleanfid:
            paths.append(CLEANFID_CACHE() / self.filename)
        return paths


# A function, not a constant, so tests can point it at an empty folder.
CLEANFID_CACHE = _cleanfid_cache

INCEPTION = WeightFile(
    "inception",
    "inception-2015-12-05.pt",
    # clean-fid's own URL (cleanfid.downloads_helper.inception_url): the TorchScript FID Inception-v3.
    "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
    "clean-fid's FID Inception-v3",
    cleanfid=True,
)
ALEXNET = WeightFile(
    "alexnet",
    "alexnet-owt-7be5be79.pth",
    # torchvision's AlexNet_Weights.IMAGENET1K_V1, which lpips.LPIPS(net="alex") loads.
    "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "torchvision's ImageNet AlexNet (the LPIPS backbone)",
)
RESNET18 = WeightFile(
    "resnet18",
    "resnet18-f37072fd.pth",
    "https://download.pytorch.org/models/resnet18-f37072fd.pth",  # ResNet18_Weights.IMAGENET1K_V1
    "torchvision's ImageNet ResNet18",
)


def hub_checkpoints_dir() -> Path:
    """torch's download cache, read at call time so that TORCH_HOME set later is honoured."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def locate(weight: WeightFile, explicit: str | Path | None = None, download: bool = False) -> Path:
    """The path of ``weight``'s file, or one MaskgenError line saying which file to put where."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise MaskgenError(f"{weight.what} weights not found at {path} (given with --weights)")
        return path
    for path in weight.search_paths():
        if path.is_file():
            return path
    if download:
        return fetch(weight)
    raise MaskgenError(missing_message(weight))


def missing_message(weight: WeightFile) -> str:
    return (
        f"{weight.what} weights missing: put {weight.filename} (from {weight.url}) "
        f"in {hub_checkpoints_dir()}/ or ${ENV_DIR}/, or pass --weights PATH (or --download when online)"
    )


def fetch(weight: WeightFile, url: str | None = None, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download ``weight`` into torch's hub cache (atomically); any failure is one MaskgenError line."""
    target = hub_checkpoints_dir() / weight.filename
    url = url or weight.url

    def download(tmp: str) -> None:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)

    try:
        atomic_write(target, download)
    except (OSError, ValueError, MaskgenError) as exc:  # URLError, timeouts, refused connections
        cause = exc.__cause__ if isinstance(exc, MaskgenError) and exc.__cause__ is not None else exc
        reason = " ".join(str(getattr(cause, "reason", cause)).split())
        raise MaskgenError(
            f"could not download {weight.filename} from {url} ({reason}); put the file in {target.parent}/ "
            "or pass --weights PATH"
        ) from None
    return target
