"""The sample-quality number of a run: sliced W1 for 2-D data, Frechet distance for images."""

from __future__ import annotations

import torch

from suite_data.locations import data_dir

from .metrics import cached_feature_net, features, frechet_distance, sliced_wasserstein


class QualityMeter:
    def __init__(self, data, config, out_dir):
        self.data, self.config = data, config
        reference_rng = torch.Generator().manual_seed(999)
        self.reference = data.sample(config.eval_samples, reference_rng)
        self.net = None
        if not data.is_toy:
            images = data.images
            self.net = cached_feature_net(data.name, images.images, images.labels, data_dir() / "feature_nets")
            self.reference_features = features(self.net, self.reference)

    def __call__(self, generated: torch.Tensor) -> tuple[str, float]:
        if self.data.is_toy:
            return "sliced_wasserstein", sliced_wasserstein(generated, self.reference)
        return "frechet_distance", frechet_distance(features(self.net, generated), self.reference_features)
