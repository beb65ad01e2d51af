"""The dashboard as a person uses it, in a real headless Chromium (Debian's ``chromium``
and ``chromium-driver``, installed by ``make system-deps``): the workflows page, one
workflow and its step timeline, cancelling a running workflow and resuming it; on SQLite
and Postgres, with the dashboard standalone (``dashboard_app(URL)``) and a launched DBOS
in this process as the application's executor.

With ``TRANSACT_DASHBOARD_SCREENSHOTS=<dir>`` the test saves the screenshots that
``docs/dashboard.md`` shows.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
import uvicorn

from tests.waiting import status_of, wait_until
from transact import DBOS, SetWorkflowID
from transact.dashboard import dashboard_app

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver")
T = TypeVar("T")
gates: dict[str, threading.Event] = {}


@DBOS.step()
def reserve(order: str) -> str:
    return f"reserved {order}"


@DBOS.step()
def charge(order: str) -> str:
    time.sleep(0.02)  # a visible bar on the timeline
    return f"charged {order}"


@DBOS.workflow()
def browser_order(order: str) -> str:
    reserve(order)
    charge(order)
    return f"order {order} done"


@DBOS.workflow()
def browser_waiting(tag: str) -> str:
    reserve(tag)
    while not gates[tag].wait(0.01):
        pass
    charge(tag)
    return tag


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    if CHROMEDRIVER is None:
        if os.environ.get("CI"):
            pytest.fail("chromedriver is missing: run `make system-deps`", pytrace=False)
        pytest.skip("no chromedriver (Debian: chromium-driver); run `make system-deps`")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def dashboard(durable_database_url: str) -> Iterator[str]:
    DBOS(config={"name": "browser-test", "system_database_url": durable_database_url})
    DBOS.launch()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(dashboard_app(durable_database_url), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        for gate in gates.values():
            gate.set()
        server.should_exit = True
        thread.join(timeout=10)
        DBOS.destroy()


def screenshot(driver: WebDriver, name: str) -> None:
    folder = os.environ.get("TRANSACT_DASHBOARD_SCREENSHOTS")
    if folder:
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(pathlib.Path(folder) / f"{name}.png"))


def fact(driver: WebDriver, name: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-fact="{name}"]').text


def settled(driver: WebDriver, read: Callable[[WebDriver], T]) -> T:
    """``read(driver)`` once the page holds still: the pages re-render every two seconds,
    which may replace an element between finding and reading it."""
    for _ in range(20):
        try:
            return read(driver)
        except StaleElementReferenceException:
            time.sleep(0.05)
    return read(driver)


@pytest.mark.slow
def test_browse_open_cancel_and_resume(browser: WebDriver, dashboard: str) -> None:
    wait = WebDriverWait(browser, 30)
    for n in range(3):
        with SetWorkflowID(f"order-{n}"):
            browser_order(str(n))
    gates["live"] = threading.Event()
    running = DBOS.start_workflow(browser_waiting, "live")
    wait_until(lambda: len(DBOS.list_workflow_steps(running.workflow_id)) == 1)

    # The workflows page: every workflow, newest first, and the counts per status.
    browser.get(dashboard)
    row = f'tr[data-workflow-id="{running.workflow_id}"]'
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, row)))
    listed = settled(
        browser,
        lambda d: [
            r.get_attribute("data-workflow-id")
            for r in d.find_elements(By.CSS_SELECTOR, "#workflows tbody tr")
        ],
    )
    assert listed[:2] == [running.workflow_id, "order-2"]
    counts = settled(browser, lambda d: d.find_element(By.ID, "counts").text)
    assert "SUCCESS 3" in counts and "PENDING 1" in counts
    screenshot(browser, "dashboard-workflows")

    # One finished workflow: its facts, output and a bar per step on the timeline.
    settled(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-workflow-id="order-1"]').click()
    )
    title = (By.ID, "workflow-title")
    wait.until(expected_conditions.text_to_be_present_in_element(title, "order-1"))
    assert settled(browser, lambda d: fact(d, "Status")) == "SUCCESS"
    assert "'order 1 done'" in settled(browser, lambda d: d.find_element(By.TAG_NAME, "main").text)
    lanes = settled(
        browser,
        lambda d: [
            lane.get_attribute("data-step")
            for lane in d.find_elements(By.CSS_SELECTOR, "#timeline .lane")
        ],
    )
    assert lanes == ["1", "2"]
    widths = settled(
        browser,
        lambda d: [bar.size["width"] for bar in d.find_elements(By.CSS_SELECTOR, "#timeline .bar")],
    )
    assert len(widths) == 2 and all(width > 0 for width in widths)
    screenshot(browser, "dashboard-workflow")

    # The running one: cancel it (after confirming), then resume it.
    browser.get(f"{dashboard}#/workflow/{running.workflow_id}")
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "facts"), "PENDING"))
    settled(browser, lambda d: d.find_element(By.ID, "cancel").click())
    wait.until(expected_conditions.alert_is_present()).accept()
    wait.until(lambda d: settled(d, lambda e: fact(e, "Status")) == "CANCELLED")
    assert status_of(running.workflow_id) == "CANCELLED"
    gates["live"].set()
    settled(browser, lambda d: d.find_element(By.ID, "resume").click())
    wait.until(expected_conditions.alert_is_present()).accept()
    wait.until(lambda d: settled(d, lambda e: fact(e, "Status")) == "SUCCESS")
    assert DBOS.retrieve_workflow(running.workflow_id).get_result() == "live"

    # The queues page answers too.
    browser.get(f"{dashboard}#/queues")
    wait.until(expected_conditions.presence_of_element_located((By.ID, "queues")))
