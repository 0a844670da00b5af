"""pluggy hook specifications of the ``maskgen`` project.

A plugin is any object (usually a module) with functions marked ``@maskgen.hookimpl``; installed
plugins are found through the ``maskgen`` entry-point group. Each hook returns a list of
:class:`~maskgen.plugins.interfaces.PluginSpec` of one kind.
"""

from __future__ import annotations

import pluggy

from maskgen.plugins.interfaces import PluginSpec

PROJECT = "maskgen"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def maskgen_generators() -> list[PluginSpec]:
    """Generator/discriminator architectures (factory: ``(options, resolution, d_c_dim) -> (G, D)``).

    ``d_c_dim`` is the length of D's conditioning. A factory that supports class-conditional training
    (``maskgen run --cond``) also takes ``c_dim=`` (G's class one-hot length); it is passed only then.
    """


@hookspec
def maskgen_augmenters() -> list[PluginSpec]:
    """Augmenters in front of D (factory: ``(options, AugmentContext) -> Augmenter``)."""


@hookspec
def maskgen_translators() -> list[PluginSpec]:
    """Sketch + reference -> image translators."""


@hookspec
def maskgen_evaluators() -> list[PluginSpec]:
    """Metrics (factory: ``(options) -> Evaluator``)."""


@hookspec
def maskgen_upscalers() -> list[PluginSpec]:
    """The cascade's second stage (factory: ``(options, scale) -> nn.Module``): small masks [N, 3, h, w]
    in [-1, 1] in, [N, 3, scale*h, scale*w] out. maskgen trains it (L1 and an adversarial loss on
    spoiled small inputs) and ships a base one; a plugin brings its own architecture."""


@hookspec
def maskgen_pretrained_checkpoints() -> dict[str, str]:
    """Short names of published checkpoints mapped to ``OWNER/REPO@REVISION``."""
