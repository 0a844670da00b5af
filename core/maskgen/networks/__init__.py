"""StyleGAN2 networks: :class:`Generator` and :class:`Discriminator`."""

from maskgen.networks.stylegan2 import Discriminator, Generator

__all__ = ["Discriminator", "Generator"]
