"""Evaluation: FID/KID (clean-fid distances), SSIM, MS-SSIM, LPIPS, the classification test, masknet.

Modules, one job each: :mod:`.masknet` (the project's own feature network), :mod:`.features` (feature
networks by name), :mod:`.distances` (FD/KD via clean-fid), :mod:`.similarity` (SSIM/MS-SSIM),
:mod:`.perceptual` (LPIPS), :mod:`.classification` (the seven-colour classification test),
:mod:`.labels` (labels of image folders, proposed colour labels), :mod:`.twosample` (the classifier
two-sample test) and :mod:`.pixelstats` (asymmetry ratio, seven-colour histogram distance): metrics
without network weights, :mod:`.evaluate` (``maskgen eval``), :mod:`.runs` (evaluating a run: the one
path of ``maskgen report`` and ``maskgen compare``), :mod:`.report` (``maskgen report``).
"""
