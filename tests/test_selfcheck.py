"""course_utils.selfcheck.self_check: every problem it can find is reported with its fix, and nothing is changed."""
import os
import shutil
from pathlib import Path

import pytest
import torch

from course_utils import data, env, selfcheck, selfcheck_data
from course_utils.fashion_files import FASHION_FILES
from course_utils.selfcheck import Check, SelfCheckReport, self_check

SHARED = os.environ.get(data.DATA_ENV)
needs_data = pytest.mark.skipif(not SHARED, reason=f"set {data.DATA_ENV} to the offline data folder")


@pytest.fixture
def no_data(offline, monkeypatch):
    """An empty offline folder, an empty (not yet created) cache and no network."""
    monkeypatch.setattr(selfcheck_data, "_can_reach", lambda host, *a, **k: False)
    return offline


@pytest.fixture
def in_kernel(monkeypatch):
    """Pretend self_check runs inside a notebook kernel, as it does in notebook 1."""
    monkeypatch.setattr(selfcheck, "_in_kernel", lambda: True)


def fake_versions(monkeypatch, **versions):
    """Pretend these distributions are installed at these versions (None: not installed)."""
    real = selfcheck._version
    versions = {k.replace("_", "-"): v for k, v in versions.items()}
    monkeypatch.setattr(selfcheck, "_version", lambda dist: versions.get(dist.replace("_", "-"), real(dist)))


# ---------------------------------------------------------------- the healthy case

@needs_data
def test_this_environment_is_all_good_and_prints_every_line(in_kernel):
    report = self_check()
    assert report.ok, str(report)
    text = str(report)
    assert text.startswith("Environment self-check: all good.")
    for name in ("Python", "torch", "torchvision", "widgets", "Fashion-MNIST", "CIFAR-10", "device"):
        assert name in text
    assert torch.__version__.split("+")[0] in report["torch"].found
    assert report["Fashion-MNIST"].found == "present and verified in $COURSE_DATA_DIR/fashion-mnist"
    assert "fix:" not in text


@needs_data
def test_html_lists_every_check_and_escapes():
    report = self_check()
    report.checks.append(Check("x<y", "problem", "a & b", "do <this>"))
    html = report._repr_html_()
    assert html.count("<tr>") == len(report.checks) + 1  # header row + one per check
    assert "x&lt;y" in html and "a &amp; b" in html and "do &lt;this&gt;" in html
    assert "1 problem to fix" in html


@needs_data
def test_outputs_carry_no_absolute_paths(monkeypatch, tmp_path):
    # a notebook that shows the report is committed with its output: no machine paths in it
    text = str(self_check())
    for prefix in ("/work/", "/root/", "/home/", "/tmp/"):
        assert prefix not in text


def test_checks_change_nothing_on_disk(no_data):
    _, cache = no_data
    self_check()
    assert not cache.exists()  # no cache folder created, nothing downloaded


# ---------------------------------------------------------------- versions

def test_missing_ipywidgets_says_how_to_install(monkeypatch):
    fake_versions(monkeypatch, ipywidgets=None)
    check = self_check()["widgets"]
    assert check.status == "problem" and "not installed" in check.found
    assert 'pip install "ipywidgets>=7.7,<9"' in check.fix and "restart the kernel" in check.fix


@pytest.mark.parametrize("version", ["7.6.5", "9.0.0"])
def test_unsupported_ipywidgets(monkeypatch, version):
    fake_versions(monkeypatch, ipywidgets=version)
    report = self_check()
    assert not report.ok and report["widgets"].status == "problem"
    assert version in report["widgets"].found and 'pip install "ipywidgets>=7.7,<9"' in report["widgets"].fix


def test_colab_with_ipywidgets_7_names_the_custom_widget_manager(monkeypatch):
    fake_versions(monkeypatch, ipywidgets="7.7.1")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    check = self_check()["widgets"]
    assert check.status == "note"  # works, but the learner should know the switch
    assert "google.colab import output; output.enable_custom_widget_manager()" in check.fix


def test_ipywidgets_7_with_jupyterlab_4_widget_extension_is_fine(monkeypatch, in_kernel):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    fake_versions(monkeypatch, ipywidgets="7.8.5", jupyterlab_widgets="3.0.17")
    assert self_check()["widgets"].status == "ok"


def test_ipywidgets_8_with_old_lab_extension(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    fake_versions(monkeypatch, ipywidgets="8.1.5", jupyterlab_widgets="1.1.1")
    check = self_check()["widgets"]
    assert check.status == "problem" and "jupyterlab_widgets>=3" in check.fix


def test_no_lab_extension_in_this_environment_is_a_note(monkeypatch, in_kernel):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    fake_versions(monkeypatch, ipywidgets="8.1.5", jupyterlab_widgets=None)
    check = self_check()["widgets"]
    assert check.status == "note" and "where JupyterLab runs" in check.fix


def test_outside_a_notebook_widgets_are_a_note(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.setattr(selfcheck, "_in_kernel", lambda: False)
    check = self_check()["widgets"]
    assert check.status == "note" and "not running in a notebook" in check.found
    assert "only in a notebook" in check.fix
    assert "tip: Widgets appear only" in str(SelfCheckReport([check]))


def test_self_check_inside_a_real_kernel_sees_the_kernel(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from course_utils.selfcheck import self_check\n"
                                          "print(self_check()['widgets'].found)")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    found = nb.cells[0].outputs[0]["text"]
    assert found.startswith("ipywidgets ") and "not running in a notebook" not in found


@pytest.mark.parametrize("dist, old", [("torch", "1.13.1"), ("torchvision", "0.14.1")])
def test_old_or_missing_torch(monkeypatch, dist, old):
    fake_versions(monkeypatch, **{dist: old})
    check = self_check()[dist]
    assert check.status == "problem" and "too old" in check.found
    assert "pip install" in check.fix and "download.pytorch.org/whl/cpu" in check.fix
    fake_versions(monkeypatch, **{dist: None})
    assert self_check()[dist].found == "not installed"


def test_old_python(monkeypatch):
    monkeypatch.setattr(selfcheck, "_python_version", lambda: (3, 8, 10))
    report = self_check()
    assert report["Python"].status == "problem" and report["Python"].found == "3.8.10"
    assert "Python 3.10 or newer" in report["Python"].fix and "environment.yml" in report["Python"].fix
    assert report["Python"] in report.problems and not report.ok


# ---------------------------------------------------------------- data

def test_data_missing_and_offline_says_where_to_put_it(no_data):
    report = self_check()
    fashion, cifar = report["Fashion-MNIST"], report["CIFAR-10"]
    assert fashion.status == cifar.status == "problem"
    assert "cannot be reached" in fashion.found
    assert 'os.environ["COURSE_DATA_DIR"]' in fashion.fix and "four official .gz files" in fashion.fix
    assert "cifar10_train_first9000.npz" in cifar.fix
    text = str(report)
    assert text.count("fix: ") == 2 and "2 problems to fix" in text


def test_data_missing_but_online_is_downloadable(no_data, monkeypatch):
    probed = []
    monkeypatch.setattr(selfcheck_data, "_can_reach", lambda host, *a, **k: probed.append(host) or True)
    report = self_check()
    assert report["Fashion-MNIST"].status == "ok" and "downloadable" in report["Fashion-MNIST"].found
    assert report["CIFAR-10"].status == "ok" and "downloadable" in report["CIFAR-10"].found
    assert set(probed) == set(selfcheck_data.DATA_HOSTS.values())


def test_unwritable_cache_says_set_cache_dir(no_data, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        monkeypatch.setattr(selfcheck_data.datadirs, "is_writable", lambda folder: False)  # root writes anywhere
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    monkeypatch.setenv(data.CACHE_ENV, str(locked / "cache"))
    try:
        check = self_check()["Fashion-MNIST"]
    finally:
        locked.chmod(0o755)
    assert check.status == "problem" and "not writable" in check.found
    assert f"Set {data.CACHE_ENV}" in check.fix


def test_bad_data_dir_is_a_problem_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "nowhere"))
    report = self_check()
    assert report["Fashion-MNIST"].status == "problem"
    assert "not a folder" in report["Fashion-MNIST"].fix and f"unset {data.DATA_ENV}" in report["CIFAR-10"].fix


@needs_data
def test_damaged_fashion_file_in_the_offline_folder(no_data):
    src, _ = no_data
    folder = src / "fashion-mnist"
    folder.mkdir()
    for name in FASHION_FILES:
        shutil.copy(Path(SHARED) / "fashion-mnist" / name, folder / name)
    victim = folder / "t10k-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:-10])  # truncated download
    check = self_check()["Fashion-MNIST"]
    assert check.status == "problem" and "t10k-labels-idx1-ubyte.gz" in check.found
    assert "offline data folder" in check.fix and "replace it with a good copy" in check.fix


@needs_data
def test_data_found_in_the_cache_layout(no_data):
    _, cache = no_data
    (cache / "cifar10").mkdir(parents=True)
    for name in ("cifar10_train_first9000.npz", "cifar10_test_first1000.npz"):
        shutil.copy(Path(SHARED) / "cifar10" / name, cache / "cifar10" / name)
    check = self_check()["CIFAR-10"]
    assert check.status == "ok" and check.found.startswith("present and verified in")


# ---------------------------------------------------------------- device

def test_device_reports_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Tesla T4")
    assert self_check()["device"].found == "cuda (Tesla T4)"


def test_cpu_on_colab_suggests_a_gpu_runtime(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    check = self_check()["device"]
    assert check.found.startswith("cpu") and "Change runtime type" in check.fix


def test_unknown_check_name_lists_the_names():
    report = SelfCheckReport([Check("a", "ok", "x")])
    with pytest.raises(KeyError, match=r"\['a'\]"):
        report["b"]


# ---------------------------------------------------------------- data: "ok" only for what will load

def test_a_broken_npz_is_not_ok(no_data):
    src, _ = no_data
    (src / "cifar10").mkdir()
    (src / "cifar10" / "cifar10_train_first9000.npz").write_bytes(b"PK\x03\x04 broken")
    (src / "cifar10" / "cifar10_test_first1000.npz").write_bytes(b"PK\x03\x04 broken")
    check = self_check()["CIFAR-10"]
    assert check.status == "problem" and "damaged file $COURSE_DATA_DIR/cifar10/" in check.found
    assert "replace it with a good copy" in check.fix


def test_a_partial_batches_folder_is_not_ok(no_data):
    _, cache = no_data
    (cache / "cifar-10-batches-py").mkdir(parents=True)
    (cache / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"half of a batch")
    check = self_check()["CIFAR-10"]
    assert check.status == "problem" and "incomplete or damaged folder" in check.found
    assert "data_batch_1, data_batch_2" in check.found and "downloads CIFAR-10 again" in check.fix


# ---------------------------------------------------------------- threads and load

def test_threads_line_shows_torch_threads_and_usable_cpus(monkeypatch):
    monkeypatch.setattr(env, "usable_cpus", lambda: 2)
    monkeypatch.setattr(env, "load_average", lambda: 0.5)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    check = self_check()["threads"]
    assert (check.status, check.found) == ("ok", "torch uses 2 threads; 2 CPUs usable here")


def test_a_busy_machine_is_a_note_with_what_to_expect(monkeypatch):
    monkeypatch.setattr(env, "usable_cpus", lambda: 2)
    monkeypatch.setattr(env, "load_average", lambda: 5.2)
    check = self_check()["threads"]
    assert check.status == "note" and "the machine is busy (load 5.2 over the last minute)" in check.found
    assert "training runs slower" in check.fix and "fit_threads(max_threads=1)" in check.fix


def test_more_threads_than_usable_cpus_is_a_note(monkeypatch):
    monkeypatch.setattr(env, "usable_cpus", lambda: 1)  # e.g. Binder: a 1-CPU quota on a many-core host
    monkeypatch.setattr(env, "load_average", lambda: 0.2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 16)
    check = self_check()["threads"]
    assert check.status == "note" and "torch uses 16 threads; 1 CPU usable here" == check.found
    assert "fit_threads() sets 1" in check.fix


# ---------------------------------------------------------------- readable in light and dark themes

def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    def luminance(colour):
        c = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_html_colours_read_in_light_and_dark_themes():
    import re

    report = SelfCheckReport([Check("a", "ok", "x"), Check("b", "note", "y", "tip"), Check("c", "problem", "z", "fix")])
    html = report._repr_html_()
    styles = re.findall(r"style='([^']*)'", html)
    coloured = [s for s in styles if "color:" in s]
    assert len(coloured) == 3, "only the three status badges set a colour; all other text follows the theme"
    for style in coloured:
        fg = re.search(r"(?<!-)color:(#[0-9a-f]{6})", style).group(1)
        bg = re.search(r"background-color:(#[0-9a-f]{6})", style).group(1)  # its own background, in any theme
        assert contrast(fg, bg) >= 4.5, style
    # the old way, coloured text on the page's background, fails on JupyterLab's dark theme (#111111)
    assert contrast("#1a7f37", "#111111") < 4.5


# ---------------------------------------------------------------- versions: the weights_only promise

def test_torch_below_2_10_is_too_old_and_says_why(monkeypatch):
    fake_versions(monkeypatch, torch="2.9.1")
    check = self_check()["torch"]
    assert check.status == "problem" and "2.9.1 (too old)" == check.found
    assert "torch >= 2.10" in check.fix and "weights_only=True" in check.fix
    assert "CVE-2025-32434" in check.fix and "CVE-2026-24747" in check.fix


def test_every_install_route_has_the_floors_the_self_check_promises():
    import re

    import yaml
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    root = Path(__file__).resolve().parents[1]
    assert selfcheck.MIN_TORCH == "2.10"  # CVE-2025-32434 (< 2.6) and CVE-2026-24747 (< 2.10)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    conda = [d for d in yaml.safe_load((root / "environment.yml").read_text())["dependencies"] if isinstance(d, str)]
    binder = (root / "binder" / "requirements.txt").read_text().splitlines()
    for dist, conda_name, floor in (("torch", "pytorch", selfcheck.MIN_TORCH),
                                    ("torchvision", "torchvision", selfcheck.MIN_TORCHVISION)):
        assert f"{dist}>={floor}" in project["dependencies"], f"pyproject.toml: {dist}>={floor}"
        assert f"{conda_name}>={floor}" in [d.split("#")[0].strip() for d in conda], f"environment.yml: {dist}"
        assert f"{dist}>={floor}" in binder, f"binder/requirements.txt: {dist}>={floor}"
    low = re.match(r">=\s*(\d+)\.(\d+)", project["requires-python"]).groups()
    assert tuple(map(int, low)) == selfcheck.MIN_PYTHON
