"""Seeds, device choice and where the notebook is running."""
from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a notebook's outputs are reproducible."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device



def get_device(prefer: str | None = None) -> torch.device:
    """``cuda`` when a GPU is available (Colab), else ``cpu``; ``prefer`` forces one."""
    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
