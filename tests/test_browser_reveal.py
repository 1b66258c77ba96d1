"""The folded reference solution in a real browser (JupyterLab + headless Chromium): hidden until the
learner clicks it, both when the cell runs and in a committed notebook opened without running it.
Notebook 7 renders outputs with the same JupyterLab components, and VS Code and Colab render
``text/html`` outputs, where ``<details>`` folds the same way."""
from browser import open_notebook, run_all_cells, write_notebook

SOLUTION_LINE = "return ((y_hat - y) ** 2).mean()"


def fold_opens_on_click(page, fold):
    code, summary = fold.locator("pre"), fold.locator("summary")
    summary.wait_for(state="visible")
    assert "Show the reference solution" in summary.text_content()
    assert not code.is_visible(), "the solution must stay out of sight until asked"
    summary.click()
    code.wait_for(state="visible")
    return code.text_content()


def test_reveal_solution_folds_the_code_until_clicked(lab, page, tmp_path):
    write_notebook(lab.root / "reveal_check.ipynb", [
        "from course_utils.exercises import reveal_solution",
        'reveal_solution("mse")',
    ])
    open_notebook(page, lab, "reveal_check.ipynb")
    run_all_cells(page)
    fold = page.locator("details.course-solution").first
    fold.wait_for(timeout=120_000)
    text = fold_opens_on_click(page, fold)
    assert text.startswith("def mse(y_hat, y):") and SOLUTION_LINE in text
    page.screenshot(path=str(tmp_path / "reveal.png"))


def test_committed_notebook_shows_the_fold_without_running(lab, page):
    open_notebook(page, lab, "notebooks/04_losses.ipynb")
    fold = page.locator("details.course-solution").first  # the mse exercise's (cells below may
    fold.wait_for()                                       # not be rendered yet: JupyterLab windowing)
    fold.scroll_into_view_if_needed()
    assert SOLUTION_LINE in fold_opens_on_click(page, fold)
