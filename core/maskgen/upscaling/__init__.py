"""The second stage of the cascade: a learned upscaler that draws a small mask at print size.

``config`` (the settings of an upscaler run), ``data`` (large masks and the spoiled small inputs made
from them), ``trainer`` (the training run: new, fine-tuned from a base upscaler, or resumed).
"""
