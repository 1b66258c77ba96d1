"""Checkpoints that survive a crash and load all or nothing (taught in the Fashion-MNIST notebook).

``save_checkpoint`` writes a temporary file beside the target and renames it into place, so a save
interrupted by a full disk or a killed kernel leaves the previous checkpoint as it was.
``load_checkpoint`` reads with ``torch.load(weights_only=True)``, checks that every part fits the
model, optimizer and scheduler it is given, and only then loads them: on a mismatch nothing changes.

``weights_only=True`` refuses pickled objects; it resists deliberately crafted files from
PyTorch 2.10 on (CVE-2025-32434 bypassed it before 2.6, CVE-2026-24747 before 2.10).
"""
from __future__ import annotations

import contextlib
import copy
import errno
import io
import pickle
import re
import shutil
import zipfile
from pathlib import Path

import torch
from torch import nn

from course_utils.files import atomic_write

CHECKPOINT_KEYS = ("model", "optimizer", "epoch")
# keys a learning-rate scheduler adds to an optimizer's param groups (not the optimizer's own settings)
_SCHEDULER_GROUP_KEYS = {"initial_lr", "max_lr", "min_lr", "base_lr", "max_momentum", "base_momentum"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be saved, read or loaded into these objects; the message says what to do."""


# ---------------------------------------------------------------- saving

def save_checkpoint(path, model: nn.Module, optimizer, epoch: int, scheduler=None) -> Path:
    """Save the model, optimizer (and scheduler) state dicts and ``epoch`` to ``path``, atomically."""
    path = Path(path)
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": int(epoch),
             "optimizer_class": type(optimizer).__name__}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
        state["scheduler_class"] = type(scheduler).__name__
    buffer = io.BytesIO()
    torch.save(state, buffer)  # serialise in memory first: a failure here touches no file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            f.write(buffer.getbuffer())
    except OSError as err:
        raise CheckpointError(_save_failed(path, err, buffer.tell())) from None
    return path


def _save_failed(path: Path, err: OSError, size: int) -> str:
    kept = (f"{path} still holds the previous checkpoint, unchanged." if path.exists()
            else "No file was written.")
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        free = next((shutil.disk_usage(p).free for p in (path.parent, *path.parents) if p.exists()), 0)
        why = f"the disk is full ({size / 1e6:.1f} MB needed, {free / 1e6:.1f} MB free)"
        todo = "Free some space, or save to a folder on another disk, and save again."
    elif err.errno == errno.EFBIG:
        why = f"the file ({size / 1e6:.1f} MB) is larger than this system allows"
        todo = "Save to another disk, or ask for a larger file size limit."
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"the folder {path.parent} is not writable"
        todo = "Save into a folder you can write to."
    else:
        why = err.strerror or str(err)
        todo = "Fix that and save again."
    return f"Could not save the checkpoint to {path}: {why}. {kept} {todo}"


# ---------------------------------------------------------------- reading

def _legacy_pickle(head: bytes) -> bool:
    """True for the pre-1.6 torch.save format, a bare pickle stream (protocol 2 or later)."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _refused_classes(err: Exception) -> str:
    """The class names in torch's weights_only refusal, e.g. 'course_utils.models.FashionCNN'."""
    text = _ANSI.sub("", str(err))
    names = list(dict.fromkeys(re.findall(r"GLOBAL ([\w.]+)", text)))
    if names:
        return ", ".join(names)
    detail = text.split("WeightsUnpickler error:")[-1]
    return " ".join(detail.split())[:120]


def _read(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"No checkpoint file at {path}. Check the name, or save one first with "
                              f"save_checkpoint(path, model, optimizer, epoch).")
    if not path.is_file():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file. Give the path of the .pt file.")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): the save that wrote it never finished (a full disk, "
                              f"a killed kernel or an interrupted copy). Save the checkpoint again, or use "
                              f"an earlier one.")
    with open(path, "rb") as f:
        head = f.read(24)
    if not zipfile.is_zipfile(path) and not _legacy_pickle(head):
        if head.startswith(b"PK\x03\x04"):
            raise CheckpointError(
                f"{path} is a truncated checkpoint: it starts like the zip archive torch.save writes, but "
                f"its end is missing ({size:,} bytes; an interrupted save, a full disk or a partial "
                f"download). Save the checkpoint again with save_checkpoint(...), or use an earlier one.")
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint: files written by torch.save are zip archives, and this "
            f"one is not (it starts with {head[:16]!r}). It may be another kind of file, or damaged. "
            f"Pick the right file, or save the checkpoint again with save_checkpoint(...).")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} holds pickled Python objects ({_refused_classes(err)}) that torch.load(..., "
            f"weights_only=True) refuses to run, because unpickling them could run any code. Save state "
            f"dicts (model.state_dict(), optimizer.state_dict()) with save_checkpoint(...) instead of whole "
            f"objects; load this file with weights_only=False only if you trust where it came from.") from None
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError, UnicodeDecodeError, KeyError) as err:
        first = (_ANSI.sub("", str(err)).strip().splitlines() or [""])[0][:120]
        raise CheckpointError(
            f"{path} is damaged and cannot be read as a PyTorch checkpoint ({type(err).__name__}: "
            f"{first}). Save the checkpoint again with save_checkpoint(...), or use an earlier one.") from None


def _check_layout(state, path: Path) -> None:
    if isinstance(state, dict) and all(k in state for k in CHECKPOINT_KEYS):
        return
    found = sorted(map(str, state))[:8] if isinstance(state, dict) else type(state).__name__
    raise CheckpointError(
        f"{path} is a PyTorch file but not a training checkpoint: it should be a dict with keys "
        f"{list(CHECKPOINT_KEYS)} (and 'scheduler' when a scheduler was saved), found {found}. "
        f"A bare state_dict loads with model.load_state_dict(torch.load(path, weights_only=True)).")


# ---------------------------------------------------------------- does each part fit?

def _listing(items: list[str], limit: int = 3) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _model_mismatch(model: nn.Module, saved) -> str | None:
    own = model.state_dict()
    if not isinstance(saved, dict):
        return f"the 'model' entry is a {type(saved).__name__}, not a state dict"
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    shapes = [f"{k} is {tuple(saved[k].shape)} in the file but {tuple(own[k].shape)} here"
              for k in own if k in saved and torch.is_tensor(saved[k]) and saved[k].shape != own[k].shape]
    parts = ([f"missing {_listing(missing)}"] if missing else []) + \
            ([f"unexpected {_listing(unexpected)}"] if unexpected else []) + \
            ([_listing(shapes)] if shapes else [])
    return "; ".join(parts) or None


def _optimizer_mismatch(optimizer, saved: dict, saved_class: str | None) -> str | None:
    name = type(optimizer).__name__
    if saved_class and saved_class != name:
        return f"it was saved from a {saved_class} optimizer and this one is a {name}"
    if not isinstance(saved, dict) or "param_groups" not in saved or "state" not in saved:
        return "the 'optimizer' entry is not an optimizer state dict"
    groups, own = saved["param_groups"], optimizer.param_groups
    if saved_class is None:  # a file not written by save_checkpoint: compare the settings' names
        foreign = sorted({k for g in groups for k in g} - {k for g in own for k in g}
                         - set(optimizer.defaults) - _SCHEDULER_GROUP_KEYS - {"params", "param_names"})
        if foreign:
            return f"its settings ({', '.join(foreign)}) belong to another kind of optimizer than {name}"
    sizes, own_sizes = [len(g["params"]) for g in groups], [len(g["params"]) for g in own]
    if sizes != own_sizes:
        return (f"it holds parameter groups of sizes {sizes} and this optimizer has {own_sizes}; "
                f"create the optimizer over model.parameters() of the same model")
    params = {pid: p for g, og in zip(groups, own) for pid, p in zip(g["params"], og["params"])}
    for pid, entry in saved["state"].items():
        p = params.get(pid)
        for key, value in (entry.items() if p is not None else ()):
            if torch.is_tensor(value) and value.ndim > 0 and value.shape != p.shape:
                return (f"its '{key}' for a parameter is {tuple(value.shape)} but the parameter is "
                        f"{tuple(p.shape)}")
    return None


def _scheduler_mismatch(scheduler, state: dict, path: Path) -> str | None:
    if "scheduler" not in state:
        raise CheckpointError(f"{path} holds no scheduler state; save it with "
                              f"save_checkpoint(..., scheduler=scheduler) to resume a schedule, or load "
                              f"without scheduler=.")
    saved, name, saved_class = state["scheduler"], type(scheduler).__name__, state.get("scheduler_class")
    if saved_class:
        return f"it was saved from a {saved_class} scheduler and this one is a {name}" if saved_class != name else None
    if not isinstance(saved, dict) or set(saved) != set(scheduler.state_dict()):
        return f"its entries ({_listing(sorted(map(str, saved)))}) are not those of a {name}"
    return None


def _verify(path: Path, state: dict, model, optimizer, scheduler) -> None:
    unchanged = "Nothing was loaded: the model, optimizer and scheduler are as they were."
    if model is not None and (why := _model_mismatch(model, state["model"])):
        raise CheckpointError(f"The weights in {path} do not fit this model ({why}). Build the model with "
                              f"the same layers as the one that was saved. {unchanged}")
    if optimizer is not None and (why := _optimizer_mismatch(optimizer, state["optimizer"],
                                                             state.get("optimizer_class"))):
        raise CheckpointError(f"The optimizer state in {path} does not fit this optimizer: {why}. Create "
                              f"the same optimizer class, with the same settings, over the same model's "
                              f"parameters before loading. {unchanged}")
    if scheduler is not None and (why := _scheduler_mismatch(scheduler, state, path)):
        raise CheckpointError(f"The scheduler state in {path} does not fit this scheduler: {why}. Create "
                              f"the same scheduler class before loading. {unchanged}")


# ---------------------------------------------------------------- loading

def load_checkpoint(path, model: nn.Module | None = None, optimizer=None, scheduler=None) -> dict:
    """Read a checkpoint (``weights_only=True``), check it fits every object given, then load them all.

    Returns the checkpoint dict. Raises ``CheckpointError`` with a fix when it cannot; then none of
    the objects has changed.
    """
    path = Path(path)
    state = _read(path)
    _check_layout(state, path)
    _verify(path, state, model, optimizer, scheduler)
    parts = [(obj, state[key]) for obj, key in ((model, "model"), (optimizer, "optimizer"),
                                                (scheduler, "scheduler")) if obj is not None]
    backups = [copy.deepcopy(obj.state_dict()) for obj, _ in parts]
    done = 0
    try:
        for done, (obj, saved) in enumerate(parts, start=1):
            obj.load_state_dict(saved)
    except Exception as err:  # checked above; if torch still objects, undo what was applied
        for (obj, _), backup in zip(parts[:done], backups):
            with contextlib.suppress(Exception):
                obj.load_state_dict(backup)
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(f"Loading {path} failed ({type(err).__name__}: {first}). Nothing was "
                              f"changed: the model, optimizer and scheduler are as they were.") from None
    return state
