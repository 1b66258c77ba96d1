"""Time to 91% test accuracy on Fashion-MNIST: the course's pipeline vs the source material's.

    python benchmarks/bench_fashion_pipeline.py                  # both, interleaved epoch by epoch
    python benchmarks/bench_fashion_pipeline.py --ref-epochs 12 --threads 2

Same model (course_utils.models.FashionCNN) in both; only the pipeline differs.
- reference: DataLoader(FashionMNIST(transform=ToTensor()), batch_size=64, shuffle=True), Adam lr=1e-3,
  tested after each epoch through a DataLoader (batch 64), as in the source material.
- course (notebook 6): the split in memory (fashion_mnist_tensors, normalised) + TensorBatches,
  batch_size=128, channels_last, Adam lr=1e-3 under OneCycleLR(max_lr=5e-3) over 4 epochs,
  CrossEntropyLoss(label_smoothing=0.1), tested in batches of 2000.
Epochs of the two alternate, so a busy machine slows both alike. The clock includes building the
data (the course's load into memory, the reference's dataset construction) and every test pass.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from course_utils import data
from course_utils.models import FashionCNN
from course_utils.training import evaluate

TARGET = 0.91
COURSE = {"batch_size": 128, "num_epochs": 4, "lr": 1e-3, "max_lr": 5e-3, "label_smoothing": 0.1}


class Reference:
    """The source material's pipeline, one epoch per call."""

    def __init__(self, seed: int):
        from torchvision.transforms import ToTensor

        start = time.perf_counter()
        torch.manual_seed(seed)
        self.train = data.loader(data.fashion_mnist(train=True, transform=ToTensor()), batch_size=64, seed=seed)
        self.test = data.loader(data.fashion_mnist(train=False, transform=ToTensor()), batch_size=64, shuffle=False)
        self.model = FashionCNN()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()
        self.setup_s = time.perf_counter() - start

    def epoch(self) -> float:
        self.model.train()
        for X, y in self.train:
            self.opt.zero_grad()
            self.loss_fn(self.model(X), y).backward()
            self.opt.step()
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for X, y in self.test:
                correct += (self.model(X).argmax(1) == y).sum().item()
        return correct / len(self.test.dataset)


class Course:
    """Notebook 6's pipeline, one epoch per call."""

    def __init__(self, seed: int):
        start = time.perf_counter()
        torch.manual_seed(seed)
        cl = torch.channels_last
        X, self.y = data.fashion_mnist_tensors(train=True, normalize=True)
        Xt, self.yt = data.fashion_mnist_tensors(train=False, normalize=True)
        self.X, self.Xt = X.contiguous(memory_format=cl), Xt.contiguous(memory_format=cl)
        self.model = FashionCNN().to(memory_format=cl)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=COURSE["lr"])
        steps = len(data.TensorBatches(self.X, self.y, COURSE["batch_size"]))
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=COURSE["max_lr"], total_steps=COURSE["num_epochs"] * steps)
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=COURSE["label_smoothing"])
        self.done = 0
        self.setup_s = time.perf_counter() - start

    def epoch(self) -> float:
        self.model.train()
        for X, y in data.TensorBatches(self.X, self.y, COURSE["batch_size"], seed=self.done):
            self.opt.zero_grad()
            self.loss_fn(self.model(X), y).backward()
            self.opt.step()
            self.sched.step()
        self.done += 1
        return evaluate(self.model, self.Xt, self.yt, self.loss_fn, batch_size=2000)[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref-epochs", type=int, default=12, help="cap on the reference's epochs (default 12)")
    parser.add_argument("--stop-ref-at-target", action="store_true",
                        help="stop the reference once it reaches 91%% (saves time; no final-epoch figure)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    runs = {"course": Course(args.seed), "reference": Reference(args.seed)}
    caps = {"course": COURSE["num_epochs"], "reference": args.ref_epochs}
    clock = {name: run.setup_s for name, run in runs.items()}
    rows = {name: [] for name in runs}
    hit = {name: None for name in runs}
    for epoch in range(max(caps.values())):
        for name, run in runs.items():
            if epoch >= caps[name] or (name == "reference" and args.stop_ref_at_target and hit[name]):
                continue
            start = time.perf_counter()
            acc = run.epoch()
            clock[name] += time.perf_counter() - start
            rows[name].append((epoch + 1, clock[name], acc))
            if hit[name] is None and acc >= TARGET:
                hit[name] = (epoch + 1, clock[name])
            print(f"{name:9s} epoch {epoch + 1:2d}  {clock[name]:7.1f} s  test accuracy {acc:.2%}", flush=True)

    print(f"\nthreads: {torch.get_num_threads()}   setup (data) s: course {runs['course'].setup_s:.1f}, "
          f"reference {runs['reference'].setup_s:.1f}")
    print(f"{'pipeline':10s} {'epochs':>6s} {'total s':>8s} {'first >= 91%':>18s} {'final acc':>10s} {'best acc':>9s}")
    for name in runs:
        first = f"epoch {hit[name][0]} at {hit[name][1]:.1f} s" if hit[name] else "not reached"
        accs = [r[2] for r in rows[name]]
        print(f"{name:10s} {len(accs):6d} {clock[name]:8.1f} {first:>18s} {accs[-1]:10.2%} {max(accs):9.2%}")
    if hit["course"] and hit["reference"]:
        print(f"\ntime to 91%: course / reference = {hit['course'][1] / hit['reference'][1]:.2f} (target <= 0.30)")
    else:
        print("\ntime to 91%: ratio unavailable (a pipeline did not reach 91%)")
    print(f"course final epoch >= 91%: {rows['course'][-1][2] >= TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
