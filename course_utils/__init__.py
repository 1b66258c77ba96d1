"""Helpers for the interactive PyTorch course. Import the modules you need, e.g.
``from course_utils.data import fashion_mnist``. Importing has no side effects."""

__version__ = "0.1.0"
