"""The review pages in a real browser: Debian's headless Chromium driven by Playwright, against
`triage serve` (waitress) started by the fixture on a loopback port, over a store filled by the real
pipeline. A clinician signs in, sees the queue with the emergent item on top, opens it, sees the
client's phone and the crisis line, acknowledges it, sees the audit entry, and corrects a label.
Screenshots of the queue (desktop and phone) and of the item page are saved in
test-artifacts/web/ for a person to look at."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, require
from sqlalchemy import select
from web_env import ALEX, PASSWORD, PRIVATE, Items, WebEnv, build_env, fill

from triage.store import Store
from triage.store.models import AuditEvent, LabelCorrection

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "web"


def _playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Served:
    url: str
    env: WebEnv
    items: Items


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    require(f"chromium ({CHROMIUM}: apt-get install chromium) and Python Playwright (pip install playwright)",
            Path(CHROMIUM).exists() and _playwright())
    env = build_env(tmp_path)
    items = fill(env)
    env.store.dispose()
    log = tmp_path / "serve.log"  # a file, not a pipe nobody reads while the server runs
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "triage.web", "--config", str(env.config.path), "serve",
                                 "--host", "127.0.0.1", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=err, text=True, env={**os.environ, "TRIAGE_KEY": ""})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"serving the review pages on (http://\S+)", line)
        if not found:
            proc.wait(timeout=10)
            raise AssertionError(f"triage serve did not start: {line}{log.read_text()}")
        yield Served(found.group(1), env, items)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()
    assert code == 0, log.read_text()
    for secret in PRIVATE:  # the server's own log holds no message text, subject or name
        assert secret not in log.read_text()


def test_a_clinician_works_an_emergent_item_in_chromium(served: Served) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    emergent = served.items.emergent
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(served.url + "/queue")
            expect(page).to_have_url(re.compile(r"/login\?next=/queue$"))
            page.fill("input[name=email]", ALEX)
            page.fill("input[name=password]", "not the password")
            page.click("button[type=submit]")
            expect(page.locator(".alert.bad")).to_contain_text("Wrong email or password")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(re.compile(r"/queue$"))

            rows = page.locator("table.queue tbody tr")
            expect(rows).to_have_count(4)  # Alex's own items only
            expect(rows.first).to_have_id(f"item-{emergent}")
            expect(rows.first).to_have_class(re.compile(r"\burgent\b"))
            expect(rows.first).to_contain_text("Emergent")
            page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

            rows.first.locator("a.item-link").click()
            expect(page).to_have_url(re.compile(rf"/items/{emergent}$"))
            now = page.locator("section.now")
            expect(now).to_contain_text("What to do now")
            expect(now).to_contain_text("555-0101")
            expect(now).to_contain_text("(800) 555-0199")
            expect(now).to_contain_text("988")
            expect(now).to_contain_text("911")
            expect(page.locator("pre.new-text")).to_contain_text("i have the pills tonight")
            expect(page.locator("details pre.quoted")).not_to_be_visible()  # quoted history collapsed
            page.screenshot(path=str(ARTIFACTS / "item-emergent.png"), full_page=True)

            page.click("#acknowledge")
            expect(page.locator(".alert.good")).to_have_text("Acknowledged.")
            expect(page.locator("#state")).to_contain_text(f"by {ALEX}")
            ack = page.locator("tr.audit-item_acknowledged")
            expect(ack).to_have_count(1)
            expect(ack).to_contain_text(ALEX)
            expect(page.locator("#acknowledge")).to_have_count(0)

            page.check("input[name=clinical][value=yes]")
            page.click("#correct-labels")
            expect(page.locator(".alert.good")).to_contain_text("The labels are corrected")
            expect(page.locator("#correct")).to_contain_text("clinical question yes")
            expect(page.locator(".flags")).to_contain_text("Clinical question")

            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                        storage_state=context.storage_state())
            small = phone.new_page()
            small.goto(served.url + "/queue")
            expect(small.locator("table.queue thead")).to_be_hidden()  # rows become cards
            expect(small.locator("table.queue tbody tr").first).to_contain_text("Emergent")
            small.screenshot(path=str(ARTIFACTS / "queue-phone.png"), full_page=True)
            phone.close()
            context.close()
        finally:
            browser.close()

    store = Store(served.env.config.store.url)
    try:
        with store.begin() as s:
            acks = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "item_acknowledged")))
            assert [(e.actor, e.message_record_id) for e in acks] == [(ALEX, emergent)]
            corrections = list(s.scalars(select(LabelCorrection)))
            assert [(c.message_record_id, c.corrected_by, c.clinical_question) for c in corrections] == [
                (emergent, ALEX, True)]
    finally:
        store.dispose()
    for name in ("queue.png", "item-emergent.png", "queue-phone.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
