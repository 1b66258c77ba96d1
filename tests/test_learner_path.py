"""A learner's path: JupyterLab from the course environment shows the notebook list in headless
Chromium, and notebook 1 opens with a live kernel. Screenshots go to artifacts/ (git-ignored).

Uses the browser test kit (tests/browser.py: the ``lab`` server over a copy of notebooks/, the
``page`` fixture). Without chromium it skips, or fails when ``COURSE_REQUIRE_BROWSER=1``.
"""
from pathlib import Path

import pytest

pytest.importorskip("browser", reason="the browser test kit (tests/browser.py) is not in this checkout")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
def test_learner_sees_the_notebook_list_and_opens_notebook_1(lab, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(lab.url("lab/tree/notebooks?reset"))
    listing = page.locator(".jp-DirListing-content")
    for name in NOTEBOOKS:
        listing.locator(".jp-DirListing-itemText", has_text=name).first.wait_for()
    shot = ARTIFACTS / "learner_path_notebook_list.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one

    # as a learner: double-click the first notebook and wait for its kernel
    listing.locator(".jp-DirListing-item", has_text=NOTEBOOKS[0]).first.dblclick()
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=120_000)
    assert page.locator(".jp-Notebook .jp-Cell").count() > 5
    page.screenshot(path=str(ARTIFACTS / "learner_path_notebook_1.png"))
