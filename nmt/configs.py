"""Model architectures and optimizer hyperparameters, as fairseq-train arguments.

Architectures: ``transformer-tiny`` / ``lstm-tiny`` finish a run in minutes on 2 CPU cores with a
subset; ``transformer-base`` / ``lstm-paper`` (the AdaShift paper's family: 2+2-layer LSTM, 512
units, attention) are for the full corpus on one GPU.

Optimizer settings (``paper``): from the AdaShift authors' NMT runs (IWSLT15 vi-en): AdaShift lr
0.01, keep_num 40, beta1 0, beta2 0.9, reduce max; Adam and AMSGrad lr 1e-4, beta1 0, beta2 0.9.
AdamAL takes Adam's (our choice; the AdamAL paper has no NMT run); ADOPT takes Adam's lr with its
own default betas (0.9, 0.9999) and eps 1e-6 (our choice; the ADOPT paper tunes lr like Adam's). SGD: lr 0.1, momentum 0.9 (our
choice for a non-adaptive baseline). ``fast`` is our setting for short CPU runs, where the
paper's lr 1e-4 barely moves in a few hundred updates: the Adam family at lr 1e-3 (x10),
AdaShift at 0.03 (x3), SGD at 0.3; same betas and keep_num. Untuned: our choice, not a paper's.
"""

ARCHITECTURES = {
    "transformer-tiny": ["--arch", "transformer", "--encoder-layers", "2", "--decoder-layers", "2",
                         "--encoder-embed-dim", "128", "--decoder-embed-dim", "128",
                         "--encoder-ffn-embed-dim", "256", "--decoder-ffn-embed-dim", "256",
                         "--encoder-attention-heads", "4", "--decoder-attention-heads", "4",
                         "--share-all-embeddings", "--dropout", "0.1"],
    "lstm-tiny": ["--arch", "lstm", "--encoder-layers", "1", "--decoder-layers", "1",
                  "--encoder-embed-dim", "128", "--decoder-embed-dim", "128", "--decoder-out-embed-dim", "128",
                  "--encoder-hidden-size", "256", "--decoder-hidden-size", "256", "--share-all-embeddings",
                  "--dropout", "0.1"],
    "transformer-base": ["--arch", "transformer", "--share-all-embeddings", "--dropout", "0.3"],
    "lstm-paper": ["--arch", "lstm", "--encoder-layers", "2", "--decoder-layers", "2",
                   "--encoder-embed-dim", "512", "--decoder-embed-dim", "512", "--decoder-out-embed-dim", "512",
                   "--encoder-hidden-size", "512", "--decoder-hidden-size", "512", "--share-all-embeddings",
                   "--dropout", "0.2"],
}

# Each setting as fairseq options (flag name without "--": value; True: a bare flag), rendered by
# ``fairseq_flags``; ``fast`` is ``paper`` with another lr, nothing else.
_PAPER = {
    "adam": {"optimizer": "plugin_adam", "lr": "1e-4", "adam-betas": "(0.0, 0.9)"},
    "amsgrad": {"optimizer": "amsgrad", "lr": "1e-4", "adam-betas": "(0.0, 0.9)"},
    "adamal": {"optimizer": "adamal", "lr": "1e-4", "adam-betas": "(0.0, 0.9)"},
    "adashift": {"optimizer": "adashift", "lr": "0.01", "adam-betas": "(0.0, 0.9)", "keep-num": "40", "reduce": "max"},
    "adopt": {"optimizer": "adopt", "lr": "1e-4"},
    "sgd": {"optimizer": "sgd", "lr": "0.1", "momentum": "0.9"},
}
_FAST_LR = {"adam": "1e-3", "amsgrad": "1e-3", "adamal": "1e-3", "adashift": "0.03", "adopt": "1e-3", "sgd": "0.3"}


def fairseq_flags(options: dict) -> list[str]:
    """{"lr": "1e-3", "share-all-embeddings": True} -> ["--lr", "1e-3", "--share-all-embeddings"]."""
    return [word for name, value in options.items() for word in ([f"--{name}"] if value is True else [f"--{name}", str(value)])]


HYPERPARAMETERS = {
    "paper": {name: fairseq_flags(options) for name, options in _PAPER.items()},
    "fast": {name: fairseq_flags({**options, "lr": _FAST_LR[name]}) for name, options in _PAPER.items()},
}
OPTIMIZER_NAMES = tuple(_PAPER)
