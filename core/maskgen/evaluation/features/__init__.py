"""The networks the evaluation measures with: feature networks by name (:mod:`.networks`: masknet,
clean-fid's Inception), maskgen's own offline network (:mod:`.masknet`, trained by :mod:`.masknet_train`),
LPIPS networks (:mod:`.perceptual`: masknet, AlexNet), the classification test's classifier
(:mod:`.classifier`) and where standard weight files are found or fetched (:mod:`.weights`)."""

from maskgen.evaluation.features.networks import (
    FEATURE_NETWORKS,
    FeatureNetwork,
    extract_features,
    feature_network,
)

__all__ = ["FEATURE_NETWORKS", "FeatureNetwork", "extract_features", "feature_network"]
