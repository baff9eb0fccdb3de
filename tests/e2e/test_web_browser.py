"""The workbench in a real browser: Debian's chromium driven headless by Selenium through
Debian's chromedriver (`make test` installs both with apt; nothing is downloaded). One
short story, in order, on a server bound to 127.0.0.1:

1. a town clerk uploads a submission, presses 立即处理 (ingest runs), and downloads the
   return file it produced;
2. the clerk is refused another town's case, by the menu and by typing its URL;
3. officer GZ001 clears a payment-blocking finding (V08) and is refused confirming it;
4. officer GZ002 confirms it;
5. the case's hold lifts at the next close.

Fails (never skips) when chromium or chromedriver is missing."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from helpers import ingest_all
from web_home import AS_OF, PASSWORDS, TOWN_A, TOWN_B, build_home, close, finding_id, held, return_workbook

from core.home import Home
from web.app import create_app
from web.jobs import IngestRunner

CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-proxy-server",
    # nothing but the workbench on 127.0.0.1 can be reached
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
]


def binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (Path("/usr/bin/chromedriver").exists() and "/usr/bin/chromedriver")
    assert browser and driver, ("chromium and chromedriver are missing: `make test` installs them "
                                "(apt-get install -y chromium chromium-driver fonts-noto-cjk)")
    return browser, str(driver)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    home = build_home(tmp_path_factory.mktemp("browser-home"))
    runner = IngestRunner(home, target=lambda: ingest_all(home, AS_OF))
    app = create_app(home, as_of=AS_OF, ingest=runner, snapshot_interval_s=0.5)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started
    yield home, f"http://127.0.0.1:{port}", app.state.wb
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = binaries()
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('profile')}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(10)  # a form post navigates: wait for the next page's elements
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def sign_in(driver, base: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[user])
    driver.find_element(By.ID, "login").click()
    assert user in driver.find_element(By.ID, "who").text


def sign_out(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, "//form[@action='/logout']//button").click()
    wait_for(lambda: driver.current_url.endswith("/login"))


def wait_for(check, timeout: float = 20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_clerk_files_and_two_officers_lift_a_hold(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    home, base, wb = site
    d = browser
    # 1. the clerk sends a file, has it processed, and gets the return file
    sign_in(d, base, "clerk_a")
    assert d.current_url.endswith(f"/towns/{TOWN_A}")
    d.find_element(By.LINK_TEXT, "报送台账").click()
    upload = tmp_path / "四月台账.csv"
    upload.write_bytes(return_workbook("GN-NEW"))
    d.find_element(By.ID, "file").send_keys(str(upload))
    d.find_element(By.ID, "send").click()
    assert d.find_element(By.ID, "upload-ok").is_displayed()
    assert (home.inbox / TOWN_A / "四月台账.csv").read_bytes() == upload.read_bytes()
    d.find_element(By.ID, "run-ingest").click()
    assert d.find_element(By.ID, "ingest-started").is_displayed()
    assert wb.ingest.wait(120) == "completed"
    d.find_element(By.LINK_TEXT, "回执与核对报告").click()
    row = d.find_element(By.XPATH, "//table[@id='returns']//tr[td[contains(., '四月台账.csv')]]")
    assert "1" in row.text  # one row read, rejected (a bad ID)
    row.find_element(By.CLASS_NAME, "return-file").click()
    got = wait_for(lambda: [p for p in Path(d.downloads).glob("*.问题.xlsx")])
    assert got[0].name.startswith("四月台账.") and got[0].read_bytes()[:2] == b"PK"
    # 2. another town's case: no link leads there, and typing its URL is refused
    d.get(f"{base}/towns/{TOWN_B}/cases/SJ-1")
    assert "您只能查看本镇街的数据" in d.find_element(By.ID, "message").text
    assert "SJ-1" not in d.find_element(By.TAG_NAME, "main").text.replace(d.find_element(By.ID, "message").text, "")
    d.get(f"{base}/findings")
    assert "无权访问" in d.title
    sign_out(d)

    # 3. one officer clears the blocking finding and may not confirm it himself
    v08 = finding_id(home, "V08", "GN-HELD")
    sign_in(d, base, "GZ001")
    d.get(f"{base}/findings?rule=V08")
    d.find_element(By.LINK_TEXT, "V08").click()
    d.find_element(By.ID, "reason").send_keys("区局已补办审批手续，同意发放")
    d.find_element(By.ID, "clear").click()
    assert "须由另一名人员确认" in d.find_element(By.ID, "action-outcome").text
    assert d.find_element(By.ID, "own-clearing").is_displayed()
    d.find_element(By.ID, "confirm").click()
    assert "两名不同人员" in d.find_element(By.ID, "error").text
    assert d.find_element(By.ID, "status").text == "待确认解除"
    sign_out(d)

    # 4. a second officer confirms
    sign_in(d, base, "GZ002")
    d.get(f"{base}/findings/{v08}")
    assert d.find_element(By.ID, "cleared-by").text == "GZ001"
    d.find_element(By.ID, "confirm").click()
    assert "已确认解除" in d.find_element(By.ID, "action-outcome").text
    assert d.find_element(By.ID, "confirmed-by").text == "GZ002"

    # 5. the next close pays the case: no hold, the April month as arrears
    assert held(home, "GN-HELD", "2025-04") == 1
    close(home, "2025-05", date(2025, 5, 1))
    assert held(home, "GN-HELD", "2025-05") == 0
    wb.snapshots.refresh(force=True)
    d.get(f"{base}/towns/{TOWN_A}/cases/GN-HELD")
    assert d.find_element(By.ID, "no-holds").is_displayed()
    assert "补发" in d.find_element(By.ID, "case-payments").text
    sign_out(d)


def test_pages_carry_no_script_and_the_right_headers(site, browser):
    home, base, _wb = site
    import httpx

    page = httpx.get(f"{base}/login")
    assert "<script" not in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert isinstance(Home(home.root), Home)
