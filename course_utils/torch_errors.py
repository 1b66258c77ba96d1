"""The one place that knows the texts of PyTorch's (and Python's) error messages.

PyTorch's messages change wording between releases; the course reacts to *what kind* of error it
was. :func:`classify` turns an exception into a short key, and each user of it keeps its own
advice per key (the exercise checkers say what to change in the learner's function, the stepper
explains what a click did). Only this module matches message fragments.

    >>> try:
    ...     torch.ones(2, requires_grad=True).sum().backward(); ...
    ... except RuntimeError as err:
    ...     classify(err)
"""
from __future__ import annotations

# key -> fragments of the message (any one matches); checked in this order, first match wins.
FRAGMENTS: dict[str, tuple[str, ...]] = {
    "graph_freed": ("backward through the graph a second time", "have already been freed"),
    "modified_inplace": ("modified by an inplace operation",),
    "leaf_inplace": ("leaf Variable that requires grad is being used in an in-place",),
    "no_grad_fn": ("does not require grad and does not have a grad_fn",),
    "not_scalar": ("grad can be implicitly created only for scalar outputs",),
    "none_attribute": ("'NoneType' object has no attribute",),
    "bad_operand": ("unsupported operand type(s) for",),
    "shape_mismatch": ("shapes cannot be multiplied", "must match the size of tensor",
                       "The size of tensor a", "size mismatch"),
    "index_out_of_range": ("out of bounds", "index out of range"),
    "item_many": ("only one element tensors can be converted", "elements cannot be converted to Scalar"),
    "numpy_requires_grad": ("Can't call numpy() on Tensor that requires grad",),
    "dtype_mismatch": ("expected scalar type", "found dtype", "Expected object of scalar type"),
    "unexpected_keyword": ("unexpected keyword argument",),
    "wrong_arguments": ("positional argument",),
    "name_not_defined": ("is not defined",),
    # a warning, not an error: classify(w.message) works on warnings too
    "non_leaf_grad": ("that is not a leaf Tensor is being accessed",),
}


def message(err: BaseException) -> str:
    """``"TypeName: message"`` of an exception, as Python prints its last line."""
    return f"{type(err).__name__}: {err}"


def classify(err: BaseException) -> str | None:
    """The key in :data:`FRAGMENTS` whose fragment occurs in ``err``'s message, or None."""
    text = message(err)
    for key, fragments in FRAGMENTS.items():
        if any(fragment in text for fragment in fragments):
            return key
    return None


def first_line(err: BaseException, limit: int = 200) -> str:
    """The first non-empty line of ``err``'s message, at most ``limit`` characters."""
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
