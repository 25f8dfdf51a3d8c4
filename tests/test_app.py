"""The SolaraViz app (sim/mesa/app.py): the page builds, and it works in a real browser.

The browser test serves the app with ``solara run`` on 127.0.0.1 and drives headless Chromium
through chromedriver (both from Debian's ``chromium`` and ``chromium-driver``, which ``.ci/run``
installs). It is skipped, installing nothing, where they or the ``viz``/``test`` extras are
missing. The browser may only reach 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

solara = pytest.importorskip("solara")
pytest.importorskip("mesa.visualization")

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "sim" / "mesa" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SERVER_START_S = 180  # first start may compile the numba kernels
PAGE_S = 180  # first page: the server imports the app and builds a model
ACT_S = 60  # each later reaction

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# ------------------------------------------------------------------ the page builds
def test_page_builds_and_model_steps():
    from mesa.visualization import SolaraViz

    from sim.mesa import app

    assert app.page is not None
    assert set(app.LEVERS) <= set(app.model_params())
    # every slider is generated from the schema: declared range, role, meaning and unit
    from sim import schema

    for name, params in app.LEVER_PARAMS.items():
        label, value, lo, hi, step = app.LEVERS[name]
        for k in params:
            par = schema()[k]
            assert (lo, hi) == (par.lo, par.hi) and par.doc.lower() in label.lower()
            assert par.role in label and lo <= value <= hi
        assert par.role == ("behaviour" if name == "network_beta" else "policy")
    model = app.MigrationApp(agents=5_000, start_year=2000, years=1, policy_year=2000,
                             hukou_small_medium=0.3, network_beta=1.5)
    assert model.sim.params.at(2000).hukou_penalty_medium == pytest.approx(0.3)
    assert model.sim.params.at(2000).network_beta == pytest.approx(1.5)
    page = SolaraViz(model, components=app.COMPONENTS, model_params=app.model_params(),
                     name="test")
    box, rc = solara.render(page, handle_error=False)
    try:
        assert "months run: 0" in app.summary_text(model)
        for _ in range(3):
            model.step()
        df = model.datacollector.get_model_vars_dataframe()
        assert len(df) == 3 and (df["migrant_stock"] > 0).all()
        assert "2000-03" in app.summary_text(model)
        assert "hukou_small_medium = 0.30" in app.summary_text(model)
        bars = app.top_provinces_figure(model).axes[0].patches
        assert len(bars) == app.N_TOP and max(b.get_width() for b in bars) > 0
        lines = app.province_lines_figure(model).axes[0].get_lines()
        assert len(lines) == app.N_LINES and len(lines[0].get_xdata()) == 3
    finally:
        rc.close()


def test_policy_path_keeps_history_before_policy_year():
    from sim.engine.registry import Params
    from sim.mesa.app import policy_path

    path = policy_path("hukou_penalty_small", 0.2, 1985, 2001)
    hist = Params({})
    assert path["mode"] == "step" and path["2001"] == 0.2
    assert path["1990"] == pytest.approx(hist.at(1990).hukou_penalty_small)
    p = Params({"hukou_penalty_small": path})
    assert p.at(1995).hukou_penalty_small == pytest.approx(hist.at(1995).hukou_penalty_small)
    assert p.at(2005).hukou_penalty_small == pytest.approx(0.2)
    assert policy_path("network_beta", 1.0, 2001, 2001) == 1.0


# ------------------------------------------------------------------ in a browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"solara exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"solara did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    log = tmp_path / "solara.log"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
           "MIGSIM_APP_AGENTS": "10000", "MPLBACKEND": "Agg"}
    solara_bin = Path(sys.executable).parent / "solara"
    cmd = [str(solara_bin)] if solara_bin.exists() else [sys.executable, "-m", "solara"]
    # --production: no file watcher (in development mode solara opens one inotify instance per
    # directory of every imported module, and runs out of them at the default limit of 128)
    cmd += ["run", str(APP), "--port", str(port), "--host", "127.0.0.1", "--no-open",
            "--production"]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, proc, log, SERVER_START_S)
        yield url, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="migsim-chromium-")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--window-size=1600,1200",
                # only 127.0.0.1 resolves: the page's external links go nowhere
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        import shutil

        shutil.rmtree(profile, ignore_errors=True)


IMGS_JS = """return Array.from(document.querySelectorAll('img'))
  .filter(i => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 100)
  .map(i => i.src);"""
SLIDER_XPATH = ("//div[contains(@class,'v-input')][.//label[contains(., '{label}')]]"
                "//*[@role='slider']")


def _button(driver, text: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.XPATH, f"//button[normalize-space(.)='{text}' or "
                                         f"normalize-space(.)='{text.upper()}']")


def test_browser_renders_charts_and_reacts(browser, server):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, log = server
    d = browser

    def body() -> str:
        try:
            return d.find_element(By.TAG_NAME, "body").text
        except StaleElementReferenceException:
            return ""

    def wait(cond, what: str, timeout: float = ACT_S):
        try:
            return WebDriverWait(d, timeout, poll_frequency=0.5,
                                 ignored_exceptions=(StaleElementReferenceException,)
                                 ).until(lambda _: cond())
        except Exception as e:  # noqa: BLE001 - report what the page showed
            pytest.fail(f"{what}: {type(e).__name__}\npage text:\n{body()[:2000]}\n"
                        f"server log:\n{log.read_text()[-2000:]}")

    d.get(url)
    # the charts: five components, four of them matplotlib images
    wait(lambda: len(d.execute_script(IMGS_JS)) >= 4, "charts rendered as images", PAGE_S)
    wait(lambda: "months run: 0" in body() and "Step: 0" in body(), "summary card")
    before = set(d.execute_script(IMGS_JS))

    # move the hukou slider one notch with the keyboard: its value changes (its label, default
    # and step come from the parameter schema, sim.mesa.app.lever_spec)
    from sim.mesa import app

    label_text, v0, _, _, step = app.LEVERS["hukou_small_medium"]
    label = label_text[:20]
    v1 = round(v0 + step, 10)
    slider = wait(lambda: d.find_element(By.XPATH, SLIDER_XPATH.format(label=label)),
                  "hukou slider")
    assert slider.get_attribute("aria-valuenow") == f"{v0:g}"
    d.execute_script("arguments[0].focus();", slider)  # the thumb container takes the keys
    ActionChains(d).send_keys(Keys.ARROW_RIGHT).perform()
    wait(lambda: d.find_element(By.XPATH, SLIDER_XPATH.format(label=label))
         .get_attribute("aria-valuenow") == f"{v1:g}", f"slider value moved to {v1:g}")

    # Reset rebuilds the model with the new lever, shown in the summary card
    time.sleep(1.0)  # let the slider's value reach the server before the click
    _button(d, "Reset").click()
    wait(lambda: f"hukou_small_medium = {v1:.2f}" in body(), "model rebuilt with the new lever")

    # Step runs a month: step counter, summary and charts change
    wait(lambda: _button(d, "Step").is_enabled(), "step button enabled")
    _button(d, "Step").click()
    wait(lambda: "Step: 1" in body() and "months run: 1" in body(), "one month stepped")
    wait(lambda: "1985-01" in body(), "summary shows the month")
    wait(lambda: len(set(d.execute_script(IMGS_JS)) - before) >= 4, "charts redrawn")
