"""maskgen's metrics, each an evaluator plugin beside the computation it runs (:mod:`.base`: the
:class:`~maskgen.evaluation.metrics.base.Metric` base and how any evaluator is run on a call's
context): :mod:`.distances` (FID/FD, KID/KD), :mod:`.manifold` (precision, recall, density,
coverage), :mod:`.similarity` (SSIM, MS-SSIM), :mod:`.lpips`, :mod:`.classify` (the classification
test), :mod:`.twosample` (C2ST), :mod:`.pixelstats` (asymmetry ratio, colour distance),
:mod:`.path_length` (PPL of a generator); :mod:`.conditional` (the colour rule's accuracy on a
class-conditional generator) is no evaluator: it draws its own images per class."""
