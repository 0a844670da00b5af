"""Whole workflows built on the parts: `maskgen compare` trains one run per augmenter and reports them."""
