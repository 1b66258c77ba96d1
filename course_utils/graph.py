"""Draw the backward graph of a tensor with matplotlib, read straight from ``grad_fn.next_functions``.

No graphviz needed: ``draw_grad_fn(loss, {"w": w, "x": x})`` returns a figure whose boxes are the
backward functions autograd recorded, with the inputs on the left and the output on the right.
"""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import torch

LEAF_COLOR, OP_COLOR, ROOT_COLOR = "#cfe8ff", "#eeeeee", "#ffe3b3"


def _key(fn) -> int:
    """A stable identity for an autograd node. Some PyTorch builds hand out a new Python wrapper on
    every access to ``grad_fn``/``next_functions``, so ``id(fn)`` is not enough; the node's
    ``metadata`` dict lives on the node itself and is the same object through every wrapper."""
    try:
        return id(fn.metadata)
    except (AttributeError, RuntimeError):
        return id(fn)


def grad_fn_graph(tensor: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None):
    """Nodes and edges of the backward graph of ``tensor``.

    Returns ``(nodes, edges)``: ``nodes`` maps a node id to ``{"label", "kind"}`` with kind ``"root"``,
    ``"op"`` or ``"leaf"``; ``edges`` lists ``(input_id, consumer_id)``. Leaves (``AccumulateGrad``,
    where ``.grad`` gets filled) are labelled with their name from ``names`` and their shape.
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"draw a tensor's graph: pass a torch.Tensor, not a {type(tensor).__name__}.")
    if tensor.grad_fn is None:
        raise ValueError("this tensor has no grad_fn: it is a leaf, or it was computed without any input "
                         "that requires grad (or inside torch.no_grad()). Draw a result computed from "
                         "tensors with requires_grad=True.")
    by_id = {id(t): name for name, t in (names or {}).items()}
    nodes, edges = {}, []
    alive = []  # keep every wrapper we looked at alive, so no id() is reused while we work
    stack = [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        alive.append(fn)
        if _key(fn) in nodes:
            continue
        variable = getattr(fn, "variable", None)
        if variable is not None:  # AccumulateGrad: the doorway to a leaf tensor's .grad
            name = by_id.get(id(variable), "leaf")
            label, kind = f"{name}\n{tuple(variable.shape)}", "leaf"
        else:
            label, kind = type(fn).__name__, "op"
        nodes[_key(fn)] = {"label": label, "kind": kind}
        for child, _ in fn.next_functions:
            if child is not None:  # None: an input that needs no gradient
                alive.append(child)
                edges.append((_key(child), _key(fn)))
                stack.append(child)
    root = nodes[_key(tensor.grad_fn)]
    root["kind"] = "root"
    root["label"] += f"\n→ output {tuple(tensor.shape)}"
    return nodes, list(dict.fromkeys(edges))


def _layout(nodes, edges, root):
    """Column = longest path to the root (inputs left, output right); rows ordered to cut crossings."""
    consumers = {}
    for src, dst in edges:
        consumers.setdefault(src, []).append(dst)
    depth = {}

    def longest(node):
        if node not in depth:
            depth[node] = 1 + max((longest(c) for c in consumers.get(node, [])), default=-1)
        return depth[node]

    for node in nodes:
        longest(node)
    n_cols = max(depth.values()) + 1
    columns = [[n for n in nodes if depth[n] == d] for d in range(n_cols)]  # d=0 is the root
    y = {root: 0.0}
    for d in range(1, n_cols):  # place each node near the consumers already placed
        col = columns[d]
        mean_y = {n: sum(y[c] for c in consumers[n] if c in y) / max(1, len(consumers[n])) for n in col}
        col.sort(key=lambda n: mean_y[n])
        for i, n in enumerate(col):
            y[n] = i - (len(col) - 1) / 2
    return {n: (n_cols - 1 - depth[n], y[n]) for n in nodes}, n_cols, max(len(c) for c in columns)


def draw_grad_fn(tensor: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None, title: str = ""):
    """A figure of ``tensor``'s backward graph: blue leaves (they get ``.grad``), grey operations,
    the output's own ``grad_fn`` in orange. ``names`` labels leaf tensors, e.g. ``{"w": w}``.

    Text is 9.5–10 pt on a white figure at most 9.6 in wide, so it reads at the default zoom
    (about 13 px) in light and dark themes alike."""
    nodes, edges = grad_fn_graph(tensor, names)
    pos, n_cols, n_rows = _layout(nodes, edges, _key(tensor.grad_fn))
    longest = max(len(line) for info in nodes.values() for line in info["label"].split("\n"))
    fontsize = 10 if n_cols * longest <= 110 else 9.5  # monospace: about 0.6 em per character
    width = min(9.6, max(6.0, n_cols * (longest * 0.6 * fontsize / 72 + 0.45)))
    fig, ax = plt.subplots(figsize=(width, max(2.8, 0.85 * n_rows + 1.0)), facecolor="white")
    colors = {"leaf": LEAF_COLOR, "op": OP_COLOR, "root": ROOT_COLOR}
    boxes = {node: ax.text(*pos[node], info["label"], ha="center", va="center", fontsize=fontsize,
                           family="monospace", zorder=3, color="#111111",
                           bbox=dict(boxstyle="round,pad=0.35", fc=colors[info["kind"]], ec="#666666"))
             for node, info in nodes.items()}
    fig.canvas.draw()  # the boxes need a size before arrows can be clipped to them
    for src, dst in edges:  # consumer → input: the way gradients flow
        ax.annotate("", xy=(0.5, 0.5), xycoords=boxes[src], xytext=(0.5, 0.5), textcoords=boxes[dst],
                    arrowprops=dict(arrowstyle="-|>", color="#444444", lw=1.2, shrinkA=1, shrinkB=1,
                                    patchA=boxes[dst].get_bbox_patch(), patchB=boxes[src].get_bbox_patch()))
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(-(n_rows - 1) / 2 - 0.7, (n_rows - 1) / 2 + 0.7)
    ax.axis("off")
    ax.set_title(title or "arrows follow grad_fn.next_functions: the way gradients flow", fontsize=11)
    fig.tight_layout()
    return fig
