"""GAN training: losses, the training loop, run directories."""
