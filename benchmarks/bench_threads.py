"""Notebook 9's training speed, quiet and under a competing load, with torch's default thread count,
with course_utils.env.fit_threads(), and with one thread.

    python benchmarks/bench_threads.py                    # 2 busy processes as the load
    python benchmarks/bench_threads.py --busy 4 --batches 200 --rounds 3

Each measurement runs in a fresh Python process (torch picks its thread pool once per process): it
trains notebook 8's model with notebook 9's recipe (max-pool before ReLU, channels_last, Adam under
OneCycleLR, plain cross-entropy, course_utils.training.train_loop) on the first --batches batches of Fashion-MNIST held in
memory, and reports batches per second. The load is --busy processes that spin a CPU each. Settings
alternate within each round and the best of --rounds counts, so a noisy machine disturbs all alike;
the load average before each round is printed. What fit_threads() picks depends on the machine: on
a host where this process may use every CPU it equals torch's default, and it differs where an
affinity mask or a cgroup CPU quota (Binder, docker --cpus) limits the process.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("torch default", "fit_threads()", "1 thread")
SPIN = "while True: pass"


def worker(setting: str, batches: int, batch_size: int) -> dict:
    """Time notebook 9's training loop on ``batches`` batches in this process; returns the result."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch
    from torch import nn

    from course_utils import data, env
    from course_utils.models import FashionCNN, pool_before_relu
    from course_utils.training import train_loop

    if setting == "fit_threads()":
        env.fit_threads()
    elif setting == "1 thread":
        torch.set_num_threads(1)
    torch.manual_seed(0)
    X, y = data.fashion_mnist_tensors(train=True, normalize=True)
    n = batches * batch_size
    X, y = X[:n].contiguous(memory_format=torch.channels_last), y[:n]
    model = pool_before_relu(FashionCNN()).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, total_steps=2 * batches)
    loss_fn = nn.CrossEntropyLoss()
    warm = data.TensorBatches(X[:4 * batch_size], y[:4 * batch_size], batch_size, seed=1)
    train_loop(warm, model, loss_fn, optimizer)  # first calls pick kernels and allocate: not timed
    start = time.perf_counter()
    train_loop(data.TensorBatches(X, y, batch_size, seed=0), model, loss_fn, optimizer, scheduler)
    seconds = time.perf_counter() - start
    return {"threads": torch.get_num_threads(), "batches_per_s": batches / seconds}


def measure(setting: str, args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", setting, "--batches", str(args.batches),
                          "--batch-size", str(args.batch_size)], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))))
    if out.returncode != 0:
        raise SystemExit(f"worker for {setting!r} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def with_load(busy: int):
    """Start ``busy`` spinning processes; returns them (stop them with ``stop``)."""
    return [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(busy)]


def stop(procs) -> None:
    for p in procs:
        p.kill()
        p.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=2, help="competing processes that spin a CPU each (default 2)")
    parser.add_argument("--batches", type=int, default=150, help="timed training batches per measurement")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the best of them counts")
    parser.add_argument("--worker", choices=SETTINGS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.batches, args.batch_size)))
        return 0

    loads = {"quiet": 0, f"{args.busy} busy processes": args.busy}
    best: dict[tuple[str, str], dict] = {}
    for rnd in range(args.rounds):
        for load_name, busy in loads.items():
            procs = with_load(busy)
            try:
                time.sleep(1.0 if busy else 0.0)
                print(f"round {rnd + 1}, {load_name}: load average {os.getloadavg()[0]:.2f}", flush=True)
                for setting in SETTINGS:
                    result = measure(setting, args)
                    key = (load_name, setting)
                    if key not in best or result["batches_per_s"] > best[key]["batches_per_s"]:
                        best[key] = result
            finally:
                stop(procs)

    steps = -(-60000 // args.batch_size)
    base = best[("quiet", "torch default")]["batches_per_s"]
    print(f"\n{os.cpu_count()} CPUs seen by os.cpu_count(); usable by this process: {len(os.sched_getaffinity(0))}"
          if hasattr(os, "sched_getaffinity") else f"\n{os.cpu_count()} CPUs")
    print(f"notebook 9's training, batch {args.batch_size}, {args.batches} batches timed, best of {args.rounds}\n")
    print(f"{'load':<20} {'threads from':<15} {'threads':>7} {'batches/s':>10} {'s/epoch':>8} {'vs quiet default':>17}")
    for (load_name, setting), r in best.items():
        print(f"{load_name:<20} {setting:<15} {r['threads']:>7} {r['batches_per_s']:>10.1f} "
              f"{steps / r['batches_per_s']:>8.1f} {r['batches_per_s'] / base:>16.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
