"""Image classification with the suite's optimizers: a CIFAR-style ResNet on Fashion-MNIST / MNIST
(offline) or CIFAR-10 (a folder the user names), a typed config, ``run(config)``, a CLI and a named
benchmark whose rows land in ``results/vision/<benchmark>/``.

    python -m vision train --dataset fashion-mnist --optimizer adashift --lr 1e-3 --out runs/vision/x
    python -m vision benchmark --benchmark fmnist-resnet
"""
