"""The sample-quality number of a run: sliced W1 for 2-D data, Frechet distance for images (and,
beside it in ``extras``, the kernel distance KID in the same feature space)."""

from __future__ import annotations

import torch

from suite_data.locations import data_dir

from .metrics import cached_feature_net, features, frechet_distance, kernel_distance, sliced_wasserstein


class QualityMeter:
    def __init__(self, data, config, out_dir):
        self.data, self.config = data, config
        reference_rng = torch.Generator().manual_seed(999)
        self.reference = data.sample(config.eval_samples, reference_rng)
        self.net, self.extras = None, {}
        if not data.is_toy:
            images = data.images
            self.net = cached_feature_net(data.name, images.images, images.labels, data_dir() / "feature_nets")
            self.reference_features = features(self.net, self.reference)

    def __call__(self, generated: torch.Tensor) -> tuple[str, float]:
        if self.data.is_toy:
            return "sliced_wasserstein", sliced_wasserstein(generated, self.reference)
        generated_features = features(self.net, generated)
        self.extras = {"kernel_distance": kernel_distance(generated_features, self.reference_features)}
        return "frechet_distance", frechet_distance(generated_features, self.reference_features)
