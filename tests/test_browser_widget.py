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


def test_learner_clicks_through_one_update(lab, page, tmp_path):
    write_notebook(lab.root / "stepper_widget_check.ipynb", CELLS)
    screenshot = tmp_path / "stepper_widget.png"
    try:
        open_notebook(page, lab, "stepper_widget_check.ipynb")
        run_all_cells(page)
        page.locator(".course-stepper-state").first.wait_for(timeout=120_000)
        wait_shown(page, "w", "1")
        assert shown(page, "w.grad") == "None" and shown(page, "loss") == "None"
        img = page.locator(".course-stepper img, img.course-stepper-plot").first
        img.wait_for()
        first_src = img.get_attribute("src")
        assert first_src, "the plot image has no src"

        page.locator(".course-stepper-zero_grad").first.click()
        page.locator(".course-stepper-log", has_text="no gradients to clear").first.wait_for()
        page.locator(".course-stepper-forward").first.click()
        wait_shown(page, "loss", "7.5")  # mean((x·1 − 2x)²) = mean(x²)
        page.locator(".course-stepper-backward").first.click()
        wait_shown(page, "w.grad", "-15")  # d/dw mean((xw − y)²) = mean(2x(xw − y)) = −2·7.5
        grad_src = img.get_attribute("src")
        page.locator(".course-stepper-step").first.click()
        wait_shown(page, "w", "1.15")  # 1 − 0.01·(−15)
        page.wait_for_function("([el, old]) => el.src !== old", arg=[img.element_handle(), grad_src])
        assert float(page.locator('.course-stepper-state [data-key="w.grad"]').first
                     .get_attribute("data-value")) == pytest.approx(-15.0)
        assert img.get_attribute("src") not in (first_src, grad_src)
        assert page.locator(".course-stepper-log", has_text="w ← w − lr·w.grad").count() == 1
        natural = page.evaluate("(el) => [el.naturalWidth, el.naturalHeight]", img.element_handle())
        assert natural[0] > 300 and natural[1] > 150, f"the plot did not load as an image: {natural}"
        page.locator(".course-stepper").first.scroll_into_view_if_needed()
    finally:
        page.screenshot(path=str(screenshot), full_page=False)
        print(f"\nscreenshot: {screenshot}")
