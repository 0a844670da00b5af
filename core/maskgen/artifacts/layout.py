"""The files of a checkpoint directory (local, in a run, or a Hub snapshot): names only, no IO.

A checkpoint is a directory::

    model.safetensors              the inference weights alone: what drawing (or colouring, or
                                   enlarging) loads, and all that a pull to draw fetches
    training_weights.safetensors   the other networks, what fine-tuning (--init) and resuming add:
                                   G and D of a GAN, D of a translator, U and D of an upscaler
    config.json                    the full resolved configuration, maskgen and plugin versions
    training_state.safetensors     optimizer moments, augmenter buffers: what --resume needs
    training_state.json            kimg, RNG states, counters
    README.md                      the model card (also the Hub repo's card)
    samples.png                    a sample grid, shown by the card
    metrics.json                   what `maskgen eval --json` measured for these weights

``model.safetensors`` holds one network's state dict under its own names (``mapping.fc0.weight``), as
``safetensors.torch.save_model`` and the Hub's ``PyTorchModelHubMixin`` write it; in memory, and in
``training_weights.safetensors``, every tensor is named with its network's prefix (``G_ema.mapping...``,
``D.b4.fc.weight``). Checkpoints from before the split (maskgen 0.1) hold every network, prefixed, in
``model.safetensors`` alone; they are read as they are. Every safetensors file maskgen writes carries the
metadata ``format: pt`` (what the Hub's libraries expect of a PyTorch file).

A run keeps its snapshots in ``RUN/checkpoints/<snapshot>/`` and points ``latest`` at the newest.
"""

from __future__ import annotations

from collections.abc import Iterable

MODEL_FILE = "model.safetensors"
TRAINING_WEIGHTS_FILE = "training_weights.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "training_state.safetensors"
STATE_JSON = "training_state.json"
README_FILE = "README.md"
SAMPLES_FILE = "samples.png"
METRICS_FILE = "metrics.json"
LATEST = "latest"
UPSCALER_DIR = "upscaler"  # where a GAN checkpoint carries its upscaler (inference weights only)

SAFETENSORS_METADATA = {"format": "pt"}

# Per checkpoint kind (config.json "kind"): the network inference uses, and every network a run saves.
INFERENCE_NETWORK = {"gan": "G_ema", "translation": "T", "upscaler": "U_ema"}
NETWORKS = {"gan": ("G", "D", "G_ema"), "translation": ("T", "D"), "upscaler": ("U", "U_ema", "D")}


def inference_network(kind: object) -> str | None:
    """The prefix of the network that draws for a checkpoint of ``kind``; None for an unknown kind."""
    return INFERENCE_NETWORK.get(kind) if isinstance(kind, str) else None


def is_prefixed(names: Iterable[str], kind: object) -> bool:
    """Whether tensor ``names`` carry network prefixes (the 0.1 layout, or a training-weights file):
    each starts with one of the kind's networks and a dot. An unknown kind is taken as prefixed."""
    networks = NETWORKS.get(kind) if isinstance(kind, str) else None
    if networks is None:
        return True
    starts = tuple(f"{network}." for network in networks)
    names = list(names)
    return bool(names) and all(name.startswith(starts) for name in names)
