"""The step-through widget in a real browser: JupyterLab + headless Chromium, clicked like a learner."""
import pytest

from browser import open_notebook, run_all_cells, write_notebook

CELLS = [
    "import torch\n"
    "from torch import nn\n"
    "from course_utils.stepper import Stepper\n"
    "from course_utils.widgets import step_through",
    "X = torch.tensor([1.0, 2.0, 3.0, 4.0])\n"
    "y = 2 * X\n"
    "w = torch.tensor(1.0, requires_grad=True)\n"
    "opt = torch.optim.SGD([w], lr=0.01)\n"
    "stepper = Stepper(lambda X: X * w, nn.MSELoss(), opt, X, y)\n"
    "step_through(stepper)",
]


def shown(page, key):
    return page.locator(f'.course-stepper-state [data-key="{key}"]').first.inner_text().strip()


def wait_shown(page, key, expected, timeout=30_000):
    page.wait_for_function(
        """([key, expected]) => {
            const el = document.querySelector(`.course-stepper-state [data-key="${key}"]`);
            return el !== null && el.textContent.trim() === expected;
        }""", arg=[key, expected], timeout=timeout)


def click_and_wait_for_new_plot(page, action, img, old_src):
    """Click an action's button (or run ``action`` when it is a callable) and wait for a new plot."""
    if callable(action):
        action()
    else:
        page.locator(f".course-stepper-{action}").first.click()
    page.wait_for_function("([el, old]) => el.src && el.src !== old", arg=[img.element_handle(), old_src])
    return img.get_attribute("src")


def test_learner_clicks_through_one_update(lab, page, tmp_path):
    write_notebook(lab.root / "stepper_widget_check.ipynb", CELLS)
    screenshot = tmp_path / "stepper_widget.png"
    try:
        open_notebook(page, lab, "stepper_widget_check.ipynb")
        run_all_cells(page)
        page.locator(".course-stepper-state").first.wait_for(timeout=120_000)
        wait_shown(page, "w", "1")
        assert shown(page, "w.grad") == "None" and shown(page, "loss") == "None"
        img = page.locator(".course-stepper img").first
        first_src = img.get_attribute("src")
        assert first_src, "the plot image has no src"

        page.locator(".course-stepper-zero_grad").first.click()
        page.locator(".course-stepper-log", has_text="no gradients to clear").first.wait_for()
        page.locator(".course-stepper-forward").first.click()
        wait_shown(page, "loss", "7.5")  # mean((x·1 − 2x)²) = mean(x²)
        grad_src = click_and_wait_for_new_plot(page, "backward", img, img.get_attribute("src"))
        wait_shown(page, "w.grad", "-15")  # d/dw mean((xw − y)²) = mean(2x(xw − y)) = −2·7.5
        step_src = click_and_wait_for_new_plot(page, "step", img, grad_src)
        wait_shown(page, "w", "1.15")  # 1 − 0.01·(−15)
        assert float(page.locator('.course-stepper-state [data-key="w.grad"]').first
                     .get_attribute("data-value")) == pytest.approx(-15.0)
        assert len({first_src, grad_src, step_src}) == 3
        assert page.locator(".course-stepper-log", has_text="w ← w − lr·w.grad").count() == 1
        natural = page.evaluate("(el) => [el.naturalWidth, el.naturalHeight]", img.element_handle())
        assert natural[0] > 300 and natural[1] > 150, f"the plot did not load as an image: {natural}"
        page.locator(".course-stepper").first.scroll_into_view_if_needed()
    finally:
        page.screenshot(path=str(screenshot), full_page=False)
        print(f"\nscreenshot: {screenshot}")


LENET_CELLS = [
    "import torch\n"
    "from torch import nn\n"
    "from course_utils.data import cifar10_tensors\n"
    "from course_utils.stepper import Stepper\n"
    "from course_utils.widgets import step_through",
    "X, y = cifar10_tensors(train=True, normalize=True)\n"
    "torch.manual_seed(0)\n"
    "model = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),\n"
    "                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),\n"
    "                      nn.ReLU(), nn.Linear(84, 10))\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
    "step_through(Stepper(model, nn.CrossEntropyLoss(), opt, X[:64], y[:64]))",
]


def test_lenet_widget_bars_and_layer_menu(lab, page, tmp_path):
    import os

    if not os.environ.get("COURSE_DATA_DIR"):
        pytest.skip("set COURSE_DATA_DIR to the offline data folder")
    write_notebook(lab.root / "lenet_widget_check.ipynb", LENET_CELLS)
    screenshot = tmp_path / "lenet_widget.png"
    try:
        open_notebook(page, lab, "lenet_widget_check.ipynb")
        run_all_cells(page)
        page.locator(".course-stepper-state").first.wait_for(timeout=120_000)
        wait_shown(page, "grad_norm", "None")
        img = page.locator(".course-stepper img").first
        src = click_and_wait_for_new_plot(page, "forward", img, img.get_attribute("src"))  # loss curve
        page.locator(".course-stepper-state [data-key='loss'][data-value]").first.wait_for()
        src = click_and_wait_for_new_plot(page, "backward", img, src)  # bars and histogram
        page.locator(".course-stepper-state [data-key='grad_norm'][data-value]").first.wait_for()
        assert float(shown(page, "grad_norm")) > 0
        menu = page.locator(".course-stepper select").first
        click_and_wait_for_new_plot(page, lambda: menu.select_option("0.weight"), img, src)
        page.locator(".course-stepper-state [data-key='0.weight.grad']").first.wait_for()
        page.locator(".course-stepper").first.scroll_into_view_if_needed()
    finally:
        page.screenshot(path=str(screenshot))
        print(f"\nscreenshot: {screenshot}")


ADAM_CELLS = [
    "import torch\n"
    "from torch import nn\n"
    "from course_utils.stepper import Stepper\n"
    "from course_utils.widgets import step_through",
    "X = torch.tensor([1.0, 2.0, 3.0, 4.0])\n"
    "w = torch.tensor(1.0, requires_grad=True)\n"
    "opt = torch.optim.Adam([w], lr=0.1)\n"
    "step_through(Stepper(lambda X: X * w, nn.MSELoss(), opt, X, 2 * X))",
]


def adam_by_hand(steps, lr=0.1, betas=(0.9, 0.999), eps=1e-8):
    """w, m, v and the last move after ``steps`` Adam steps on mean((x·w − 2x)²) from w = 1."""
    w, m, v, move = 1.0, 0.0, 0.0, 0.0
    for t in range(1, steps + 1):
        g = 2 * 7.5 * (w - 2.0)  # d/dw mean((xw − 2x)²) = 2·mean(x²)·(w − 2)
        m, v = betas[0] * m + (1 - betas[0]) * g, betas[1] * v + (1 - betas[1]) * g * g
        move = -lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)) ** 0.5 + eps)
        w += move
    return w, m, v, move


def shown_value(page, key):
    return float(page.locator(f'.course-stepper-state [data-key="{key}"]').first.get_attribute("data-value"))


def set_theme(page, name):
    """JupyterLab menu: Settings → Theme → ``name``."""
    import re

    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Settings$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{name}$")).first.click()
    page.wait_for_function("(name) => document.body.dataset.jpThemeName === name", arg=name)


def test_two_adam_steps_show_the_optimizers_state(lab, page, tmp_path):
    write_notebook(lab.root / "adam_widget_check.ipynb", ADAM_CELLS)
    shots = [tmp_path / "adam_widget_light.png", tmp_path / "adam_widget_dark.png"]
    try:
        open_notebook(page, lab, "adam_widget_check.ipynb")
        run_all_cells(page)
        page.locator(".course-stepper-state").first.wait_for(timeout=120_000)
        wait_shown(page, "w", "1")
        assert "exp_avg m and exp_avg_sq v" in page.locator(".course-stepper-optim").first.inner_text()
        img = page.locator(".course-stepper img").first
        src = img.get_attribute("src")
        for t in (1, 2):
            for action in ("zero_grad", "forward", "backward"):
                page.locator(f".course-stepper-{action}").first.click()
                page.locator(".course-stepper-log .cs-event").first.filter(has_text=f"{action}()").wait_for()
            src = click_and_wait_for_new_plot(page, "step", img, src)
            wait_shown(page, "optim_step", str(t))
            w, m, v, move = adam_by_hand(t)
            assert shown_value(page, "w") == pytest.approx(w, rel=1e-6)
            assert shown_value(page, "w.exp_avg") == pytest.approx(m, rel=1e-5)
            assert shown_value(page, "w.exp_avg_sq") == pytest.approx(v, rel=1e-5)
            assert shown_value(page, "w.move") == pytest.approx(move, rel=1e-5)
            assert shown(page, "steps") == str(t)
        newest = page.locator(".course-stepper-log .cs-event").first.inner_text()
        assert "Adam's buffers after step 2" in newest and "step 1" not in newest
        page.locator(".course-stepper").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots[0]))
        set_theme(page, "JupyterLab Dark")
        color = page.evaluate("() => getComputedStyle(document.querySelector('.course-stepper-state td')).color")
        rgb = [int(c) for c in color[color.index("(") + 1:color.index(")")].split(",")[:3]]
        assert sum(rgb) / 3 > 150, f"the values must follow the dark theme's light text, got {color}"
        page.locator(".course-stepper").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots[1]))
    finally:
        if page.evaluate("() => document.body.dataset.jpThemeName") == "JupyterLab Dark":
            set_theme(page, "JupyterLab Light")  # the theme is a saved setting: leave it as found
        print(f"\nscreenshots: {shots[0]} {shots[1]}")
