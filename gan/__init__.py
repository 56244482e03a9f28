"""A standalone WGAN-GP trainer (no fairseq) using the optim_plugins optimizers.

``python -m gan.train --help`` for one run, ``python -m gan.sweep --help`` for the comparison.
"""
