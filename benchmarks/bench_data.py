"""Data-pipeline figures for Fashion-MNIST (issue 3): load time of the in-memory fast path, and one
training epoch of the notebook 8 CNN fed by the fast path vs the usual DataLoader, side by side.

    python benchmarks/bench_data.py            # prints a table
    python benchmarks/bench_data.py --threads 2 --repeats 3

Both epochs use batch_size=64 and the same model and optimizer (Adam 1e-3), so the ratio isolates the
data pipeline: DataLoader(FashionMNIST(transform=ToTensor()), batch_size=64) converts one PIL image at
a time; TensorBatches slices tensors already in memory.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from course_utils import data
from course_utils.models import FashionCNN


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def iterate(batches) -> None:
    for _ in batches:
        pass


def train_one_epoch(batches) -> None:
    torch.manual_seed(0)
    model = FashionCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for X, y in batches:
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the load timing (default 3)")
    parser.add_argument("--skip-epochs", action="store_true", help="only the load and iteration timings")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from torchvision.transforms import ToTensor

    data.fashion_mnist(train=True)  # extract the raw files once, outside the timings
    loads = [seconds(lambda: data.fashion_mnist_tensors(train=True, normalize=True)) for _ in range(args.repeats)]
    X, y = data.fashion_mnist_tensors(train=True, normalize=True)
    slow = data.loader(data.fashion_mnist(train=True, transform=ToTensor()), batch_size=64, seed=0)
    fast = data.TensorBatches(X, y, batch_size=64, seed=0)

    rows = [("load full train split into memory (fast path)", statistics.median(loads), None, "target <= 3 s")]
    it_slow, it_fast = seconds(lambda: iterate(slow)), seconds(lambda: iterate(fast))
    rows.append(("iterate one epoch, no model: DataLoader+ToTensor", it_slow, None, ""))
    rows.append(("iterate one epoch, no model: TensorBatches", it_fast, it_slow / it_fast, "faster"))
    if not args.skip_epochs:
        # alternate the two so that a busy machine slows both alike
        ep_fast = seconds(lambda: train_one_epoch(fast))
        ep_slow = seconds(lambda: train_one_epoch(slow))
        rows.append(("train one epoch (bs 64): DataLoader+ToTensor", ep_slow, None, ""))
        rows.append(("train one epoch (bs 64): TensorBatches", ep_fast, ep_slow / ep_fast, "faster"))

    print(f"threads: {torch.get_num_threads()}; load timings (s): {', '.join(f'{t:.2f}' for t in loads)}")
    print(f"{'measurement':52s} {'seconds':>8s} {'ratio':>7s}")
    for name, secs, ratio, note in rows:
        print(f"{name:52s} {secs:8.2f} {'' if ratio is None else f'{ratio:6.1f}x':>7s}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
