"""The shared checker machinery: a check always ends in one printed verdict (stub, error, endless loop,
interrupt), a bug in a checker keeps its traceback, messages wrap at word boundaries, solutions fold,
and use_or_reference keeps later cells running."""
import os
import signal
import sys
import threading
import time

import pytest
import torch

from course_utils.exercises import (EXERCISES, HINT, NOT_DONE, PASS, CheckResult, SolutionFold, compare,
                                    exercise, reveal_solution, solution, use_or_reference)
from course_utils.exercises import mse as mse_exercise
from course_utils.exercises.trial import Trial, checker
from course_utils.exercises.verdict import hint, wrap
from learner_code import assert_wrapped, define, short_time_limit  # noqa: F401  (a fixture)

CHECKS = [exercise(name).CHECK for name in EXERCISES]
ENDLESS = "def {name}(*args):\n    n = 0\n    while n >= 0:\n        n += 1\n    return n"


def verdict(check, fn, capsys):
    result = check(fn)
    printed = capsys.readouterr().out
    assert printed.strip() == str(result)  # the checker prints exactly its verdict
    assert "Traceback" not in printed
    assert_wrapped(result)
    return result


@pytest.mark.parametrize("check", CHECKS, ids=EXERCISES)
def test_untouched_stubs_are_not_done_yet(check, capsys):
    stubs = [define("def f(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError('write it')"),
             define("def f(*args):\n    ..."), define("def f(*args):\n    return ..."), None]
    for fn in stubs:
        result = verdict(check, fn, capsys)
        assert result.status == NOT_DONE and not result.passed


@pytest.mark.parametrize("check", CHECKS, ids=EXERCISES)
def test_a_raising_learner_function_gives_its_error_its_line_and_advice(check, capsys):
    result = verdict(check, define("def f(*args):\n    return undefined_name * 2"), capsys)
    assert result.status == HINT and "NameError" in result.message
    assert "`return undefined_name * 2`" in result.message and "run the cell that defines" in result.message


@pytest.mark.parametrize("check", CHECKS, ids=EXERCISES)
def test_passing_a_result_instead_of_the_function(check, capsys):
    result = verdict(check, torch.tensor(1.0), capsys)
    assert result.status == HINT and "pass the function itself" in result.message


@pytest.mark.parametrize("check", CHECKS, ids=EXERCISES)
def test_an_endless_loop_is_stopped_and_the_interrupt_handler_restored(check, capsys, short_time_limit):
    before = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    result = verdict(check, define(ENDLESS.format(name="f")), capsys)
    assert result.status == HINT and result.message.startswith("no answer after 0.5 s")
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGINT) is before


def test_a_loop_that_swallows_exceptions_is_stopped_too(capsys, short_time_limit):
    fn = define("def mse(y_hat, y):\n    while True:\n        try:\n            pass\n"
                "        except Exception:\n            pass")
    assert verdict(mse_exercise.check_mse, fn, capsys).message.startswith("no answer after")


def test_time_spent_importing_does_not_count(tmp_path, monkeypatch, capsys, short_time_limit):
    (tmp_path / "slow_to_import.py").write_text("import time\ntime.sleep(1.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fn = define("def mse(y_hat, y):\n    import slow_to_import\n    return ((y_hat - y) ** 2).mean()")
    assert verdict(mse_exercise.check_mse, fn, capsys).passed
    sys.modules.pop("slow_to_import", None)


def test_a_manual_interrupt_leaves_a_result(capsys):
    """The learner presses the kernel's stop button while their function loops (SIGINT)."""
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    result = verdict(mse_exercise.check_mse, define(ENDLESS.format(name="mse")), capsys)
    assert result.status == NOT_DONE and "you interrupted your function" in result.message


def test_an_interrupt_in_the_checkers_own_code_leaves_a_result(monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(mse_exercise, "cases", interrupted)
    result = verdict(mse_exercise.check_mse, mse_exercise.mse, capsys)
    assert result.status == NOT_DONE and "interrupted the check" in result.message


def test_a_bug_in_a_checker_is_raised_with_its_traceback_not_blamed_on_the_learner(monkeypatch):
    def broken_mistakes(*args):
        return 1 / 0  # a bug in the checker's own code

    monkeypatch.setattr(mse_exercise, "mistakes", broken_mistakes)
    wrong = define("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).sum()")
    with pytest.raises(ZeroDivisionError) as info:
        mse_exercise.check_mse(wrong)
    if sys.version_info >= (3, 11):
        assert "not from your code" in "".join(info.value.__notes__)
    assert info.traceback[-1].name == "broken_mistakes"

    @checker
    def check_returns_nothing(fn: Trial):
        fn.call(1)  # forgot to return a CheckResult

    with pytest.raises(TypeError, match="must return a CheckResult"):
        check_returns_nothing(lambda v: v)


def test_a_bug_in_the_runner_itself_is_not_blamed_on_the_learner(monkeypatch):
    from course_utils.exercises import timelimit

    def broken(self):
        raise RuntimeError("bug in the runner")

    monkeypatch.setattr(timelimit.TimeLimit, "__enter__", broken)
    with pytest.raises(RuntimeError, match="bug in the runner"):
        mse_exercise.check_mse(mse_exercise.mse)


def test_checks_outside_the_main_thread_run_without_a_time_limit(capsys):
    results = []
    worker = threading.Thread(target=lambda: results.append(mse_exercise.check_mse(mse_exercise.mse)))
    worker.start()
    worker.join(60)
    assert results and results[0].passed


def test_a_small_checker_written_with_the_api():
    @checker(advice={"shape_mismatch": "x has shape (N,)."})
    def check_double(double: Trial) -> CheckResult:
        for x in (torch.tensor([1.0, 2.0]), torch.tensor([3.0])):
            if not torch.equal(double.call(x.clone()), 2 * x):
                hint(f"double({x.tolist()}) should be {(2 * x).tolist()}.")
        return CheckResult(PASS, "doubles.")

    assert check_double(lambda x: x + x).passed
    assert "should be [6.0]" in check_double(lambda x: x * torch.tensor([2.0, 2.0])[: len(x)] + (len(x) == 1)).message
    assert "x has shape (N,)." in check_double(lambda x: x @ torch.ones(3)).message


# ---------------------------------------------------------------- messages

def test_wrap_breaks_at_words_and_keeps_code_and_short_parentheses_whole():
    text = ("zero the gradients after every update with " * 2) + "`w2.grad.zero_()` and (w1, w2, b) " * 3
    for width in range(30, 90, 7):
        lines = wrap(text, width).splitlines()
        assert all(len(line) <= width for line in lines)
        joined = " ".join(line.strip() for line in lines)
        assert joined == " ".join(text.split())
        assert "`w2.grad.zero_()`" in joined and joined.count("(w1, w2, b)") == 3


def test_compare_reports_exact_approx_and_difference(capsys):
    compare("same", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
    compare("close", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]) + 1e-7)
    compare("far", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))
    compare("shape", torch.tensor([1.0]), torch.tensor([1.0, 2.0]))
    compare("none", None, torch.tensor([1.0]))
    same, close, far, shape, none = capsys.readouterr().out.splitlines()
    assert "exact: True" in same and "max abs diff: 0.0e+00" in same
    assert "exact: False" in close and "approx: True" in close
    assert "approx: False" in far and "max abs diff: 5.0e-01" in far
    assert "shapes differ" in shape and "not computed yet" in none


# ---------------------------------------------------------------- solutions and the registry

def test_every_registered_exercise_passes_its_own_reference(capsys):
    for name in EXERCISES:
        assert exercise(name).CHECK(solution(name)).passed, name
    with pytest.raises(KeyError, match="Known exercises"):
        solution("nope")


def test_the_solution_fold_hides_the_code_until_clicked(capsys):
    fold = SolutionFold("quadratic")
    page = fold._repr_html_()
    assert page.startswith('<details class="course-solution"><summary') and "<details open" not in page
    assert "def train_quadratic(" in page and "p.grad.zero_()" in page and "**" in page
    assert "def train_quadratic(" not in repr(fold)  # plain text: only how to open it
    reveal_solution("mse")  # outside IPython it prints the code
    assert capsys.readouterr().out.startswith("def mse(y_hat, y):")


def test_use_or_reference_falls_back_says_why_and_notices_a_redefined_function(capsys):
    assert use_or_reference("mse", None, CheckResult(NOT_DONE, "stub")) is mse_exercise.mse
    assert "reference solution" in capsys.readouterr().out
    mine = define("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean()")
    result = mse_exercise.check_mse(mine)
    assert use_or_reference("mse", mine, result) is mine
    capsys.readouterr()
    redefined = define("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).sum()")
    assert use_or_reference("mse", redefined, result) is mse_exercise.mse
    assert "redefined after its check passed" in capsys.readouterr().out
    assert use_or_reference("mse", mine, "not a result") is mse_exercise.mse


# ---------------------------------------------------------------- in a real kernel

def run_cell(kc, code, interrupt_after=None, km=None):
    """Execute ``code``; optionally press "interrupt" after some seconds. Returns (stdout, errors)."""
    msg_id = kc.execute(code)
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        km.interrupt_kernel()
    out, errors = "", []
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out += content["text"]
        elif kind == "error":
            errors.append(content["ename"])
        elif kind == "status" and content["execution_state"] == "idle":
            return out, errors


def test_in_a_kernel_interrupt_and_timeout_leave_a_result_and_no_traceback():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        out, errors = run_cell(kc, "from course_utils.exercises import trial\n"
                                   "from course_utils.exercises.mse import check_mse\n"
                                   "trial.TIME_LIMIT_S = 60\n"
                                   "def mse(y_hat, y):\n    while True:\n        pass\n")
        assert not errors, out
        out, errors = run_cell(kc, "result = check_mse(mse)", interrupt_after=3, km=km)
        assert not errors and out.startswith("NOT DONE YET: you interrupted your function"), out
        out, errors = run_cell(kc, "print(result.status)")
        assert out.strip() == "NOT DONE YET" and not errors
        out, errors = run_cell(kc, "trial.TIME_LIMIT_S = 1\nresult = check_mse(mse)\nprint(result.status)")
        assert not errors and out.startswith("HINT: no answer after 1 s") and out.strip().endswith("HINT"), out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
