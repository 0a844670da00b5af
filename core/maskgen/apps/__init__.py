"""Whole workflows built on the parts: `maskgen compare` (one run per augmenter, Table 1) and the tools
that explore a trained generator (projection, style mixing, latent walks, truncation sweeps, copy audit)."""
