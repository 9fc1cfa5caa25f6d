"""What a person sees, in a real browser: `journeylift dev` (what `make dev` runs) serves the
Dagster UI, the MLflow UI and GX's Data Docs on 127.0.0.1 over the small pipeline's home, and
Debian's chromium (driven by Playwright) opens each surface.

Screenshots go to this test's tmp folder, and to $JOURNEYLIFT_SCREENSHOTS when set (the README's
"Looking at it" images: `JOURNEYLIFT_SCREENSHOTS=docs/screenshots .venv/bin/pytest tests/test_browser.py`).
The test is skipped only where no browser can be had (no chromium binary, or no Playwright).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from graph_runs import stop_process_group

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SERVERS = ("dagster", "mlflow", "data_docs")
READY_PATHS = {"dagster": "/server_info", "mlflow": "/health", "data_docs": "/index.html"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("browser test skipped: no chromium here (as root: apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="browser test skipped: Playwright not installed")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def servers(pipeline_run, tmp_path_factory):
    """`journeylift dev` over the pipeline's home, each server on a free port; their URLs."""
    home, result = pipeline_run
    assert result.success
    ports = {name: _free_port() for name in SERVERS}
    env = {**os.environ, "JOURNEYLIFT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           **{f"JOURNEYLIFT_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    dev = subprocess.Popen([str(Path(sys.executable).parent / "journeylift"), "dev"], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        deadline = time.monotonic() + 240
        waiting = set(SERVERS)
        while waiting and time.monotonic() < deadline:
            assert dev.poll() is None, dev.stdout.read().decode()[-3000:]
            waiting = {name for name in waiting if not _answers(urls[name] + READY_PATHS[name])}
            time.sleep(2)
        assert not waiting, f"not serving after 4 minutes: {waiting}; logs in {home / 'logs'}"
        yield {**urls, "home": home, "run_id": result.run_id}
    finally:
        stop_process_group(dev)


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def _screenshot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"))
    if os.environ.get("JOURNEYLIFT_SCREENSHOTS"):
        folder = Path(os.environ["JOURNEYLIFT_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / f"{name}.png", folder / f"{name}.png")


def _skip_dagster_welcome(page) -> None:
    """Dagster's first view asks to join its community: Skip."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # no dialog this time (it is shown once per browser profile)
        pass


def test_the_run_is_on_its_job_page(servers, page, tmp_path):
    page.goto(f"{servers['dagster']}/locations/journeylift/jobs/journeylift/runs")
    _skip_dagster_welcome(page)
    run = page.get_by_text(servers["run_id"][:8]).first
    run.wait_for()
    _screenshot(page, tmp_path, "dagster_job_runs")
    page.goto(f"{servers['dagster']}/runs/{servers['run_id']}")
    _skip_dagster_welcome(page)
    page.get_by_text("Success").first.wait_for()
    view_job = page.locator("a:has-text('View job')").first
    assert view_job.get_attribute("href").startswith("/locations/journeylift/jobs/journeylift")  # not /guess/
    page.get_by_text("View tags and config").first.click()
    page.get_by_text("mlflow/experiment").first.wait_for()  # the links into MLflow


def test_the_asset_graph_shows_the_groups(servers, page, tmp_path):
    page.goto(f"{servers['dagster']}/asset-groups")
    _skip_dagster_welcome(page)
    for group in ("raw", "marts", "training", "leakage_comparison", "report"):
        page.get_by_text(group, exact=True).first.wait_for()
    page.wait_for_timeout(2_000)  # the layout settles
    _screenshot(page, tmp_path, "dagster_asset_graph")


def test_the_report_shows_its_headline_figure_inline(servers, page, tmp_path):
    page.goto(f"{servers['dagster']}/assets/journeylift/attribution_report")
    _skip_dagster_welcome(page)
    # Markdown metadata opens in place from its row; the figure is inside, as a data URI.
    page.locator("tr", has=page.get_by_text("effects", exact=True)).get_by_text("[Show Markdown]").click()
    image = page.locator("img[alt='effects in probability points']").first
    image.wait_for()
    assert image.evaluate("img => img.naturalWidth") > 300  # the PNG decoded, not a broken link
    image.scroll_into_view_if_needed()
    _screenshot(page, tmp_path, "dagster_report_figure")


def test_the_experiment_opens_on_its_training_runs(servers, page, tmp_path):
    from dagster_project.tracking import MODEL_TRAINING_VIEW

    page.goto(f"{servers['mlflow']}/#/experiments/1?{MODEL_TRAINING_VIEW}")
    page.get_by_text("gru4rec__no_funnel").first.wait_for()  # a training run, not the GenAI overview
    _screenshot(page, tmp_path, "mlflow_experiment")


def test_the_registered_version_has_its_aliases_and_signature(servers, page, tmp_path):
    from dagster_project.tracking import MODEL_TRAINING_VIEW

    page.goto(f"{servers['mlflow']}/#/models/journeylift-conversion/versions/1?{MODEL_TRAINING_VIEW}")
    page.get_by_text("champion").first.wait_for()
    page.get_by_text("challenger").first.wait_for()
    page.get_by_text("promotion rule").first.wait_for()
    page.get_by_text("Inputs (3)").first.click()  # the signature: categorical ids, numeric features, mask
    page.get_by_text("categorical").first.wait_for()
    _screenshot(page, tmp_path, "mlflow_model_version")


def test_the_data_docs_index_lists_the_validations(servers, page, tmp_path):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{servers['data_docs']}/index.html")
    rows = page.locator("table tbody tr")
    rows.first.wait_for()
    assert rows.count() >= 4  # one per suite
    text = page.inner_text("body")
    assert "marts.fct_journey_sequences_no_funnel" in text and f"dagster run {servers['run_id']}" in text
    assert all(url.startswith(servers["data_docs"]) or url.startswith("data:") for url in requests), \
        [url for url in requests if not url.startswith(servers["data_docs"])]
    _screenshot(page, tmp_path, "gx_data_docs")
