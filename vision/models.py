"""The networks: He et al.'s CIFAR ResNet (3 stages, 6n+2 layers) and ResNet-18 with a CIFAR stem."""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:  # option B: a 1x1 projection
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) of He et al. 2016, section 4.2: a 3x3 stem, three stages of n basic blocks with
    ``width``, 2x, 4x channels (strides 1, 2, 2), global average pooling, one linear layer."""

    def __init__(self, blocks: int, width: int = 16, channels: int = 1, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers, inputs = [], width
        for stage, stride in enumerate((1, 2, 2)):
            outputs = width * 2**stage
            for block in range(blocks):
                layers.append(BasicBlock(inputs, outputs, stride if block == 0 else 1))
                inputs = outputs
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(inputs, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnet18_cifar(channels: int = 3, classes: int = 10) -> nn.Module:
    """torchvision's ResNet-18 with the usual CIFAR stem (3x3 conv, stride 1, no max-pool)."""
    from torchvision.models import resnet18  # noqa: PLC0415

    model = resnet18(num_classes=classes)
    model.conv1 = nn.Conv2d(channels, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


def build(arch: str, channels: int, classes: int = 10) -> nn.Module:
    """``resnet<6n+2>`` (e.g. resnet8, resnet20) or ``resnet18``."""
    if arch == "resnet18":
        return resnet18_cifar(channels, classes)
    if arch.startswith("resnet") and arch[6:].isdigit() and (int(arch[6:]) - 2) % 6 == 0 and int(arch[6:]) >= 8:
        return CifarResNet((int(arch[6:]) - 2) // 6, channels=channels, classes=classes)
    raise ValueError(f"Unknown arch {arch!r}; choose resnet18 or resnet<6n+2> (resnet8, resnet14, resnet20, ...)")
