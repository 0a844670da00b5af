"""The paper's classification test: a classifier of the seven primary colours (or any labels), trained on
real images and applied to real and generated ones.

Transfer learning as in the paper: a pretrained backbone (ResNet18 with ImageNet weights, or masknet)
gets a new randomly initialized last layer, and only that layer is trained (batch 8, 50 epochs by
default). Because the frozen backbone runs in eval mode, its features are computed once and the layer
is trained on them: the same result as running the backbone every step, much faster. ``train_all``
trains every layer instead (needed for a ResNet18 without pretrained weights).

A classifier is saved as a folder: ``classifier.safetensors`` (all weights, so evaluation needs no
other file) and ``classifier.json`` (backbone, class names, input size, training settings), each written
atomically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from maskgen.errors import MaskgenError
from maskgen.evaluation.features.masknet import FEATURE_DIM, MaskNet, load_masknet
from maskgen.evaluation.features.weights import RESNET18, locate
from maskgen.evaluation.files import write_json, write_safetensors
from maskgen.evaluation.imagesets.sets import as_float

BACKBONES = ("resnet18", "masknet")
WEIGHTS_FILE = "classifier.safetensors"
CONFIG_FILE = "classifier.json"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT = {"resnet18": 224, "masknet": 64}
ProgressFn = Callable[[int, int, str], None]


class ResNetTrunk(nn.Module):
    """torchvision's ResNet18 without its last layer: ImageNet-normalized input -> 512 features."""

    dim = 512

    def __init__(self, input_size: int) -> None:
        super().__init__()
        from torchvision.models import resnet18

        self.net = resnet18(weights=None)
        self.net.fc = nn.Identity()
        self.input_size = input_size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True)
        return self.net((x - self.mean) / self.std)


class MasknetTrunk(nn.Module):
    dim = FEATURE_DIM

    def __init__(self, model: MaskNet | None = None) -> None:
        super().__init__()
        self.net = model if model is not None else MaskNet({})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


class Classifier(nn.Module):
    """backbone -> new linear layer; inputs are [N, 3, H, W] images in [0, 1]."""

    def __init__(self, backbone: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


@dataclass
class ClassifierConfig:
    backbone: str
    class_names: list[str]
    input_size: int
    pretrained: bool = False
    train_all: bool = False
    epochs: int = 50
    batch: int = 8
    lr: float = 1e-3
    seed: int = 0
    weights_source: str = ""
    train_accuracy: float | None = None
    train_count: int = 0
    train_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def build_backbone(
    name: str,
    input_size: int,
    pretrained: bool = False,
    weights: str | Path | None = None,
    download: bool = False,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, str]:
    """(backbone, where its weights came from)."""
    if name == "resnet18":
        trunk = ResNetTrunk(input_size)
        if not pretrained:
            return trunk, "random initialization"
        path = locate(RESNET18, weights, download)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for a file that is not a state dict
            raise MaskgenError(
                f"unreadable ResNet18 weights {path}: {' '.join(str(exc).split())[:200]}"
            ) from None
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = trunk.net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise MaskgenError(f"{path} is not torchvision's ResNet18 state dict (missing {missing[:2]})")
        return trunk, str(path)
    if name == "masknet":
        model = load_masknet(weights)
        return MasknetTrunk(model), str(weights or "shipped masknet")
    raise MaskgenError(f"unknown backbone {name!r}; valid: {', '.join(BACKBONES)}")


@torch.no_grad()
def _features(backbone: nn.Module, images: np.ndarray, device: torch.device, batch: int = 64) -> torch.Tensor:
    backbone.eval()
    out = [backbone(as_float(images[i : i + batch], device)).cpu() for i in range(0, len(images), batch)]
    return torch.cat(out)


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    config: ClassifierConfig,
    backbone: nn.Module,
    device: torch.device,
    progress: ProgressFn | None = None,
) -> Classifier:
    """Train the new last layer (or everything with ``train_all``) with Adam and cross-entropy."""
    if len(images) < 2:
        raise MaskgenError(f"the classifier needs at least 2 labelled images, got {len(images)}")
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = Classifier(backbone, len(config.class_names)).to(device)
    target = torch.from_numpy(labels)
    steps = -(-len(images) // config.batch)
    if config.train_all:
        params, inputs = model.parameters(), None
    else:
        model.backbone.requires_grad_(False)
        params, inputs = model.head.parameters(), _features(model.backbone, images, device)
    opt = torch.optim.Adam(params, lr=config.lr)
    for epoch in range(config.epochs):
        model.train(config.train_all)
        order = torch.randperm(len(images), generator=gen)
        for step, start in enumerate(range(0, len(images), config.batch)):
            idx = order[start : start + config.batch]
            if inputs is None:
                logits = model(as_float(images[idx.numpy()], device))
            else:
                logits = model.head(inputs[idx].to(device))
            loss = F.cross_entropy(logits, target[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if progress is not None:
                progress(
                    epoch * steps + step + 1,
                    config.epochs * steps,
                    f"epoch {epoch + 1} loss {loss.item():.3f}",
                )
    model.eval()
    predictions = predict(model, images, device)
    config.train_accuracy = float((predictions == labels).mean())
    config.train_count = len(images)
    config.train_seconds = round(time.perf_counter() - started, 1)
    return model


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, device: torch.device, batch: int = 64) -> np.ndarray:
    model.eval()
    out = [
        model(as_float(images[i : i + batch], device)).argmax(1).cpu() for i in range(0, len(images), batch)
    ]
    return torch.cat(out).numpy()


def save_classifier(model: Classifier, config: ClassifierConfig, out: Path) -> Path:
    out = Path(out)
    write_safetensors(out / WEIGHTS_FILE, model.state_dict())
    write_json(out / CONFIG_FILE, asdict(config))
    return out


def load_classifier(path: Path, device: torch.device) -> tuple[Classifier, ClassifierConfig]:
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    cfg_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not cfg_path.is_file() or not weights_path.is_file():
        raise MaskgenError(f"not a classifier checkpoint (needs {CONFIG_FILE} and {WEIGHTS_FILE}): {folder}")
    try:
        config = ClassifierConfig(**json.loads(cfg_path.read_text(encoding="utf-8")))
        state = load_file(str(weights_path))
    except (json.JSONDecodeError, TypeError, SafetensorError, OSError, ValueError) as exc:
        raise MaskgenError(
            f"unreadable classifier checkpoint {folder}: {' '.join(str(exc).split())}"
        ) from None
    backbone = ResNetTrunk(config.input_size) if config.backbone == "resnet18" else MasknetTrunk()
    if config.backbone == "masknet":
        heads = {
            k.split(".")[3]: int(v.shape[0]) for k, v in state.items() if k.startswith("backbone.net.heads.")
        }
        backbone = MasknetTrunk(MaskNet({name: n for name, n in heads.items()}))
    model = Classifier(backbone, len(config.class_names))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise MaskgenError(
            f"classifier checkpoint {folder} does not match its config: {str(exc)[:200]}"
        ) from None
    return model.to(device).eval().requires_grad_(False), config


# --------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def accuracy_report(labels: np.ndarray, predictions: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Overall accuracy, accuracy per true class (None for a class with no image), confusion matrix."""
    matrix = confusion_matrix(labels, predictions, len(class_names))
    per_class = {
        name: (float(matrix[i, i] / matrix[i].sum()) if matrix[i].sum() else None)
        for i, name in enumerate(class_names)
    }
    return {
        "accuracy": float((labels == predictions).mean()),
        "count": int(len(labels)),
        "per_class": per_class,
        "class_counts": {name: int(matrix[i].sum()) for i, name in enumerate(class_names)},
        "confusion": matrix.tolist(),
        "class_names": list(class_names),
    }


def save_confusion_png(report: dict[str, Any], path: Path, title: str = "") -> Path:
    """The confusion matrix as a PNG heat map with counts (rows: true class, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from maskgen.evaluation.files import atomic_write

    matrix = np.array(report["confusion"])
    names = report["class_names"]
    side = max(4.0, 0.6 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(side, side * 0.9))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = matrix.max() or 1
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > top / 2 else "black")
    ax.set_title(title or f"accuracy {report['accuracy']:.1%} ({report['count']} images)")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return Path(path)


def map_labels(labels: np.ndarray, data_names: list[str], model_names: list[str]) -> np.ndarray:
    """Labels of a data set in the classifier's class order: by name, or by index for unnamed labels."""
    if data_names == [str(i) for i in range(len(data_names))]:
        if len(data_names) > len(model_names):
            raise MaskgenError(
                f"labels go up to {len(data_names) - 1} but the classifier has {len(model_names)} classes"
            )
        return labels
    unknown = sorted(set(data_names[i] for i in np.unique(labels)) - set(model_names))
    if unknown:
        raise MaskgenError(
            f"classes {unknown} are unknown to the classifier (its classes: {', '.join(model_names)})"
        )
    index = {name: i for i, name in enumerate(model_names)}
    table = np.array([index.get(name, -1) for name in data_names])
    return table[labels]


# --------------------------------------------------------------------------------------------------
# The test on labelled images (``maskgen classify train|eval``, ``maskgen eval -m classify``)
# --------------------------------------------------------------------------------------------------


def evaluate_classifier(
    model: nn.Module,
    class_names: list[str],
    images: np.ndarray,
    labels: np.ndarray,
    data_names: list[str],
    device: torch.device,
) -> dict[str, Any]:
    """Accuracy report (:func:`accuracy_report`) of a classifier on labelled images.

    The labels (named by ``data_names``) are first put in the classifier's class order
    (:func:`map_labels`); classes the classifier does not know are an error.
    """
    labels = map_labels(labels, data_names, class_names)
    return accuracy_report(labels, predict(model, images, device), class_names)


def classify_folder(
    checkpoint: Path,
    data: Path,
    labels: Path | None,
    device: torch.device,
    confusion: Path | None = None,
) -> tuple[dict[str, Any], ClassifierConfig, Path]:
    """A ``maskgen classify train`` classifier on a labelled folder: (report, its config, confusion PNG).

    The confusion matrix goes to ``confusion``, default ``CHECKPOINT/confusion-<folder name>.png``.
    """
    from maskgen.evaluation.imagesets.labels import load_labelled_folder

    model, config = load_classifier(checkpoint, device)
    images, values, names = load_labelled_folder(data, labels, config.input_size)
    report = evaluate_classifier(model, config.class_names, images, values, names, device)
    png = confusion or Path(checkpoint) / f"confusion-{Path(data).resolve().name}.png"
    title = f"{Path(data).name}: accuracy {report['accuracy']:.1%} ({report['count']} images)"
    save_confusion_png(report, png, title)
    return report, config, png


def train_classifier_on_folder(
    data: Path,
    labels: Path | None,
    backbone: str,
    device: torch.device,
    pretrained: bool = False,
    weights: Path | None = None,
    download: bool = False,
    epochs: int = 50,
    batch: int = 8,
    lr: float = 1e-3,
    input_size: int | None = None,
    train_all: bool = False,
    seed: int = 0,
    progress: ProgressFn | None = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[Classifier, ClassifierConfig]:
    """Transfer learning on a labelled folder (the paper's Table 3 classifier): (model, its config).

    ``on_note`` hears what is worth knowing about the setup once the inputs are checked, before the
    training starts (e.g. that a random ResNet18 with only its last layer trained learns little).
    """
    from maskgen.evaluation.imagesets.labels import load_labelled_folder

    if backbone not in DEFAULT_INPUT:
        raise MaskgenError(f"unknown backbone {backbone!r}; valid: {', '.join(DEFAULT_INPUT)}")
    size = input_size or DEFAULT_INPUT[backbone]
    trunk, source = build_backbone(backbone, size, pretrained, weights, download, device)
    images, values, names = load_labelled_folder(data, labels, size)
    if len(set(values.tolist())) < 2:
        raise MaskgenError(f"{data} has a single class; a classifier needs at least two")
    if backbone == "resnet18" and not pretrained and not train_all and on_note is not None:
        on_note(
            "only the last layer of a randomly initialized ResNet18 is trained; "
            "pass --pretrained (as the paper) or --train-all"
        )
    config = ClassifierConfig(
        backbone=backbone,
        class_names=names,
        input_size=size,
        pretrained=pretrained or backbone == "masknet",
        train_all=train_all,
        epochs=epochs,
        batch=batch,
        lr=lr,
        seed=seed,
        weights_source=source,
        extra={"data": str(Path(data).resolve()), "labels": str(labels) if labels else None},
    )
    model = train_classifier(images, values, config, trunk, device, progress)
    return model, config
