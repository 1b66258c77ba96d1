"""The models the course has taught (notebooks 5 and 8), for later notebooks, tests and benchmarks.

Later notebooks import them from here; the notebooks that teach them write them out in full.
"""
from __future__ import annotations

import torch
from torch import nn


class LeNet5(nn.Module):
    """LeNet-5 for 3×32×32 images (CIFAR-10): notebook 5's class, the same code (tests/test_notebook_copies.py).

    ``act`` is the activation class placed after every layer but the last; ``nn.Identity`` gives the
    activation-free network of the course's source, whose Linear layers collapse into one linear map.
    """

    def __init__(self, act: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)          # 6 filters, each 3×5×5
        self.conv2 = nn.Conv2d(6, 16, 5)         # 16 filters, each 6×5×5
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.pool = nn.MaxPool2d(2)              # keeps the largest of each 2×2 block
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, 32, 32)
        x = self.pool(self.act(self.conv1(x)))   # conv: (N, 6, 28, 28), pool: (N, 6, 14, 14)
        x = self.pool(self.act(self.conv2(x)))   # conv: (N, 16, 10, 10), pool: (N, 16, 5, 5)
        x = torch.flatten(x, 1)                  # (N, 400)
        x = self.act(self.fc1(x))                # (N, 120)
        x = self.act(self.fc2(x))                # (N, 84)
        return self.fc3(x)                       # (N, 10) logits, one score per class


class FashionCNN(nn.Module):
    """The Fashion-MNIST CNN of notebook 8, the same code as its cell (tests/test_models_training.py):
    two conv-ReLU-pool blocks and one Linear layer, for (N, 1, 28, 28) images."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2),   # (N, 16, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2))                                        # (N, 16, 14, 14)
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),  # (N, 32, 14, 14)
            nn.ReLU(),
            nn.MaxPool2d(2))                                        # (N, 32, 7, 7)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, 28, 28)
        x = self.layer1(x)           # (N, 16, 14, 14)
        x = self.layer2(x)           # (N, 32, 7, 7)
        x = torch.flatten(x, 1)      # (N, 1568)
        return self.fc(x)            # (N, 10) logits


def pool_before_relu(model: FashionCNN) -> FashionCNN:
    """Notebook 9's speed-up, the same code as its cell: each block of a FashionCNN becomes
    conv → max-pool → ReLU, in place. ReLU and a max-pool commute, so the outputs and the gradients
    stay the same while ReLU runs on a quarter of the values; the weights and state_dict keys stay."""
    for block in (model.layer1, model.layer2):
        block[1], block[2] = nn.MaxPool2d(2), nn.ReLU()
    return model
