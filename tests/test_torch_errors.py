"""torch_errors.classify recognises the errors PyTorch really raises (not hand-written strings)."""
import pytest
import torch

from course_utils.torch_errors import classify, first_line


def _raise_graph_freed():
    w = torch.tensor(1.0, requires_grad=True)
    loss = (w * w) ** 2
    loss.backward()
    loss.backward()


def _raise_modified_inplace():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    loss = (w * w).sum()  # mul saves w itself
    loss.backward(retain_graph=True)
    opt.step()
    loss.backward()


def _raise_leaf_inplace():
    w = torch.tensor(1.0, requires_grad=True)
    w -= 0.1


def _raise_no_grad_fn():
    torch.tensor(1.0).backward()


def _raise_not_scalar():
    w = torch.ones(3, requires_grad=True)
    (w * 2).backward()


def _raise_shape():
    torch.ones(2, 3) @ torch.ones(2, 3)


def _raise_index():
    torch.ones(3, 4)[torch.arange(3), torch.tensor([0, 5, 1])]


def _raise_item():
    torch.ones(3).item()


def _raise_numpy():
    torch.ones(2, requires_grad=True).numpy()


@pytest.mark.parametrize("make, key", [
    (_raise_graph_freed, "graph_freed"),
    (_raise_modified_inplace, "modified_inplace"),
    (_raise_leaf_inplace, "leaf_inplace"),
    (_raise_no_grad_fn, "no_grad_fn"),
    (_raise_not_scalar, "not_scalar"),
    (_raise_shape, "shape_mismatch"),
    (_raise_index, "index_out_of_range"),
    (_raise_item, "item_many"),
    (_raise_numpy, "numpy_requires_grad"),
    (lambda: None.grad, "none_attribute"),
    (lambda: None - 1.0, "bad_operand"),
    (lambda: undefined_name, "name_not_defined"),  # noqa: F821
    (lambda: (lambda a: a)(1, 2), "wrong_arguments"),
    (lambda: (lambda a: a)(a=1, b=2), "unexpected_keyword"),
])
def test_classify_real_errors(make, key):
    with pytest.raises(Exception) as info:
        make()
    assert classify(info.value) == key, str(info.value)


def test_unknown_error_is_none_and_first_line_is_short():
    err = ValueError("something else\nsecond line")
    assert classify(err) is None
    assert first_line(err) == "something else"
    assert len(first_line(ValueError("x" * 500), limit=50)) == 50
