"""Evaluation: FID/KID (clean-fid distances), SSIM, MS-SSIM, LPIPS, the classification test, masknet.

Modules, one job each: :mod:`.masknet` (the project's own feature network), :mod:`.features` (feature
networks by name), :mod:`.distances` (FD/KD via clean-fid), :mod:`.similarity` (SSIM/MS-SSIM),
:mod:`.perceptual` (LPIPS), :mod:`.classification` (the seven-colour classification test),
:mod:`.evaluate` (``maskgen eval``), :mod:`.report` (``maskgen report``).
"""
