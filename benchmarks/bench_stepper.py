"""Click-to-updated-view time of the step-through widget (action + snapshot + plot rendered to PNG).

    PYTHONPATH=. COURSE_DATA_DIR=/path/to/data python benchmarks/bench_stepper.py [--clicks 40]

Cases: LeNet-5 on a batch of 64 real CIFAR-10 training images (target: median ≤ 150 ms on 2 cores)
and y = x·w with one scalar weight (target: median ≤ 60 ms). Each click cycles through
zero_grad → forward → backward → step, the way a learner clicks. For comparison, the same clicks are
also timed with the engine alone (no view) and with a fresh matplotlib figure per click (the naive
view), interleaved so that machine load hits all variants alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

from course_utils import step_views
from course_utils.data import cifar10_tensors
from course_utils.models import LeNet5
from course_utils.stepper import ACTIONS, Stepper
from course_utils.widgets import StepperWidget


def lenet_stepper() -> Stepper:
    torch.manual_seed(0)
    X, y = cifar10_tensors(train=True, normalize=True)
    model = LeNet5()
    return Stepper(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01), X[:64], y[:64])


def scalar_stepper() -> Stepper:
    X = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w = torch.tensor(1.0, requires_grad=True)
    return Stepper(lambda X: X * w, nn.MSELoss(), torch.optim.SGD([w], lr=0.01), X, 2 * X)


def naive_view(widget: StepperWidget) -> bytes:
    """What a straightforward implementation does: build a new figure per click and save it."""
    view = step_views.view_for(widget.stepper)
    view.show(step_views.Frame.of(widget.stepper, widget.layer.value if widget.layer else None))
    for artist in view.moving:
        artist.set_animated(False)  # savefig draws everything, as a one-off figure would
    return step_views.figure_png(view.fig)


VARIANTS = ("engine only", "widget click", "fresh figure per click")


def click(widget: StepperWidget, variant: str, action: str) -> None:
    if variant == "engine only":
        widget.stepper.do(action)
    elif variant == "widget click":
        widget.click(action)
    else:
        widget.stepper.do(action)
        naive_view(widget)


def measure(make, clicks: int) -> dict[str, dict[str, list[float]]]:
    """times[variant][action] in seconds; each variant drives its own copy of the same setup."""
    widgets = {v: StepperWidget(make()) for v in VARIANTS}
    for variant, widget in widgets.items():
        for action in ACTIONS * 2:  # warm-up: first draws, first autograd graph
            click(widget, variant, action)
    times = {v: {a: [] for a in ACTIONS} for v in VARIANTS}
    for i in range(clicks):
        action = ("zero_grad", "forward", "backward", "step")[i % 4]
        k = (i // 4) % 3  # rotate which variant goes first, so load spikes spread over all three
        for variant in VARIANTS[k:] + VARIANTS[:k]:
            t = time.perf_counter()
            click(widgets[variant], variant, action)
            times[variant][action].append(time.perf_counter() - t)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=40, help="clicks per case and variant (a multiple of 4)")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2],
                        help="torch thread counts to try (default: 1 and 2)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {load:.1f} at start; "
          f"{args.clicks} clicks per case, variant and thread count, cycling "
          f"zero_grad → forward → backward → step.\nAbsolute times depend on the load on the machine; "
          f"compare the variants within one run.\n")
    print(f"{'case':27} {'thr':>3} {'variant':24} {'median':>9} {'p90':>9}   "
          f"{'per action (median ms): ' + ' / '.join(ACTIONS):48} {'target':>7}")
    for case, make, target in (("LeNet-5, CIFAR-10 batch 64", lenet_stepper, 150.0),
                               ("scalar y = x·w", scalar_stepper, 60.0)):
        for threads in args.threads:
            torch.set_num_threads(threads)
            times = measure(make, args.clicks)
            medians = {}
            for variant in VARIANTS:
                ms = sorted(v * 1000 for values in times[variant].values() for v in values)
                medians[variant] = med = statistics.median(ms)
                p90 = ms[int(0.9 * (len(ms) - 1))]
                per = " / ".join(f"{statistics.median(times[variant][a]) * 1000:.1f}" for a in ACTIONS)
                verdict = (f"≤{target:.0f} " + ("OK" if med <= target else "OVER")) if variant == "widget click" else ""
                print(f"{case:27} {threads:3d} {variant:24} {med:6.1f} ms {p90:6.1f} ms   {per:48} {verdict:>7}")
            print(f"{'':27} {'':3} {'naive / widget':24} {medians[VARIANTS[2]] / medians[VARIANTS[1]]:7.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
