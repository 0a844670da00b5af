"""The files of a checkpoint directory (local, in a run, or a Hub snapshot): names only, no IO.

A checkpoint is a directory::

    model.safetensors            weights (G, D, G_ema or the translator's), the only file inference needs
    config.json                  the full resolved configuration, maskgen and plugin versions
    training_state.safetensors   optimizer moments, augmenter buffers: what --resume needs
    training_state.json          kimg, RNG states, counters
    README.md                    the model card (also the Hub repo's card)
    samples.png                  a sample grid, shown by the card
    metrics.json                 what `maskgen eval --json` measured for these weights

A run keeps its snapshots in ``RUN/checkpoints/<snapshot>/`` and points ``latest`` at the newest.
"""

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "training_state.safetensors"
STATE_JSON = "training_state.json"
README_FILE = "README.md"
SAMPLES_FILE = "samples.png"
METRICS_FILE = "metrics.json"
LATEST = "latest"
