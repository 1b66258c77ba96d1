"""Re-execute notebooks in place from a fresh kernel, so committed outputs come from a clean run.

    python scripts/run_notebooks.py                 # every notebook in notebooks/
    python scripts/run_notebooks.py notebooks/01_*.ipynb

The saved file is what a reader of the finished run should see, and what JupyterLab would write:
- the kernelspec is the one ``ipykernel`` installs, so JupyterLab does not rewrite it (and mark the
  notebook modified) on opening;
- progress bars that were hidden when their loop ended (tqdm's ``leave=False``) are removed, with their
  widget state; a bar left on screen shows its final state, not "0% | 0/469", where widgets do not
  render (GitHub, nbviewer);
- consecutive stream chunks are joined and execution timestamps dropped, so re-runs give quiet diffs.
"""
from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import nbformat

from nbexec import execute_fresh, notebooks

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MODEL_REF = re.compile(r"IPY_MODEL_(\w+)")


def kernelspec() -> dict:
    """The kernelspec metadata of the kernel ``ipykernel`` installs (``python -m ipykernel install``)."""
    from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

    spec = get_kernel_dict()
    return {"display_name": spec["display_name"], "language": spec["language"], "name": KERNEL_NAME}


def merge_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks into one output, as a reader sees them."""
    merged = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.output_type == "stream" and prev is not None and prev.output_type == "stream"
                and prev.name == out.name):
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def widget_models(nb) -> dict:
    """{model id: {"model_name": ..., "state": {...}}} as saved in the notebook's metadata."""
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _state(models: dict, ref: str) -> dict:
    return models.get(MODEL_REF.sub(r"\1", ref or ""), {}).get("state", {})


def is_hidden(model_id: str, models: dict) -> bool:
    """True for a widget whose layout was hidden by the end of the run (a closed tqdm bar)."""
    layout = _state(models, _state(models, model_id).get("layout", ""))
    return layout.get("visibility") == "hidden" or layout.get("display") == "none"


def progress_text(model_id: str, models: dict) -> str | None:
    """A tqdm bar's final state as text (``train: 100%|██████████| 469/469 [...]``), else None."""
    children = _state(models, model_id).get("children", [])
    states = [_state(models, ref) for ref in children]
    if len(states) != 3 or "Progress" not in str(states[1].get("_model_name", "")):
        return None
    left, bar, right = states
    done = bar.get("value", 0) / (bar.get("max") or 1)
    filled = max(0, min(10, int(done * 10)))
    text = f"{left.get('value', '')}|{'█' * filled}{' ' * (10 - filled)}| {right.get('value', '')}"
    return html.unescape(text).replace("\u2007", " ")


def tidy_widgets(nb) -> None:
    """Drop outputs of hidden widgets, give visible progress bars their final text, and keep only the
    widget models that a remaining output shows (and the models those refer to)."""
    models = widget_models(nb)
    if not models:
        return
    shown = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                kept.append(out)
                continue
            if is_hidden(view["model_id"], models):
                continue
            text = progress_text(view["model_id"], models)
            if text is not None:
                out.data["text/plain"] = text
            shown.append(view["model_id"])
            kept.append(out)
        cell.outputs = kept
    keep = set()
    while shown:
        model_id = shown.pop()
        if model_id in keep or model_id not in models:
            continue
        keep.add(model_id)
        shown.extend(MODEL_REF.findall(str(models[model_id].get("state", {}))))
    if keep:
        nb.metadata.widgets[WIDGET_STATE]["state"] = {k: v for k, v in models.items() if k in keep}
    else:
        del nb.metadata["widgets"]


def tidy(nb) -> None:
    """Everything ``execute`` does to a freshly executed notebook before saving it."""
    nb.metadata["kernelspec"] = kernelspec()
    tidy_widgets(nb)  # first: a hidden bar between two prints would keep them apart
    for cell in nb.cells:  # timestamps and stream chunking would make every re-run a noisy diff
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)


def execute(path: Path, timeout: int = 600) -> float:
    """Run one notebook top to bottom in a fresh kernel and save it with its outputs; return seconds."""
    run = execute_fresh(path, timeout=timeout, measure_memory=False)
    tidy(run.nb)
    nbformat.write(run.nb, path)
    return run.seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks or notebooks():
        print(f"{path.name}: {execute(path.resolve()):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
