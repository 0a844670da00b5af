"""Evaluation outputs (JSON, safetensors) through the one atomic writer, :func:`maskgen.outputs.atomic_write`
(re-exported here for the modules that import it from this one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from maskgen.outputs import atomic_write

__all__ = ["atomic_write", "write_json", "write_safetensors"]


def write_json(path: str | Path, data: Any) -> Path:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_safetensors(path: str | Path, tensors: dict[str, torch.Tensor]) -> Path:
    state = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return atomic_write(path, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
