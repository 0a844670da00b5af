"""Template augment plugin for maskgen: Gaussian instance noise in front of the discriminator."""
