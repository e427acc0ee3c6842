"""The review pages (triage.web) through Flask's test client, over a store filled by the real pipeline:
sign-in, lockout, CSRF, roles and scoping (404 outside), session expiry on a moved clock, the trusted
proxy header, the queue's order and filters, the item page (reasons, evidence, draft, the message
read from the mailbox now, what to do in an emergency), every action button's effect and audit,
security headers, escaping, no message text in logs, the `serve` and `user` commands."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT
from dovecot_fixture import Dovecot
from flask import Flask
from sqlalchemy import select
from web_env import (
    ADMIN,
    ALEX,
    ALIAS,
    PASSWORD,
    PRIVATE,
    ROBIN,
    SAM,
    SUPERVISOR,
    T0,
    Items,
    WebEnv,
    build_env,
    fill,
)
from web_env import mail as web_mail
from werkzeug.test import TestResponse

from triage.clock import set_clock
from triage.config import parse_config
from triage.errors import ConfigError, TriageError
from triage.store.models import AssessmentRow, AuditEvent, LabelCorrection, RightsRequest, User, WebSession
from triage.web import accounts
from triage.web.app import create_app, load_secret_key
from triage.web.commands import register
from triage.web.mailtext import MessageText

NOW = T0 + timedelta(hours=7)


def at(when: datetime) -> None:
    set_clock(lambda: when)


@dataclass
class Web:
    env: WebEnv
    items: Items
    app: Flask


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    env = build_env(tmp_path)
    items = fill(env)
    at(NOW)
    app = create_app(env.config, env.store, env.crypto, secret_key=b"0" * 64)
    yield Web(env, items, app)
    env.store.dispose()


class Client:
    """A browser: Flask's test client with the CSRF token of its session at hand."""

    def __init__(self, app: Flask, remote: str = "127.0.0.1", headers: dict[str, str] | None = None) -> None:
        self.c = app.test_client()
        self.c.environ_base["REMOTE_ADDR"] = remote
        self.headers = headers or {}
        self.token = ""

    def get(self, url: str) -> TestResponse:
        r = self.c.get(url, headers=self.headers)
        found = re.search(r'name="csrf_token" value="([^"]*)"', r.text)
        if found and "/login" not in url:
            self.token = found.group(1)
        return r

    def post(self, url: str, data: dict[str, object] | None = None, *, csrf: bool = True) -> TestResponse:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        return self.c.post(url, data=data, headers=self.headers)

    def login(self, email: str, password: str = PASSWORD, *, next: str = "") -> TestResponse:
        page = self.c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        r = self.c.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1),
                                        "next": next})
        if r.status_code == 303:
            self.get("/help")  # picks up the session's CSRF token
        return r


def signed_in(web: Web, email: str) -> Client:
    c = Client(web.app)
    assert c.login(email).status_code == 303
    return c


def text_of(r: TestResponse) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text)).replace("&#39;", "'").replace("&amp;", "&")


# --------------------------------------------------------------------------- sign-in


def test_sign_in_and_out_with_a_password(web: Web) -> None:
    c = Client(web.app)
    r = c.get("/queue")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/queue")
    r = c.login(ALEX, next="/queue")
    assert r.status_code == 303 and r.headers["Location"] == "/queue"
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("triage-session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Expires" not in cookie  # ends with the browser
    assert c.get("/queue").status_code == 200
    [login] = web.env.audit("web_login")
    assert login.actor == ALEX and login.detail["via"] == "password"
    with web.env.store.begin() as s:
        [ws] = s.scalars(select(WebSession)).all()
        token = cookie.split(";")[0].split("=", 1)[1]
        assert ws.token_hash != token and len(ws.token_hash) == 64  # only a hash is kept
        assert s.scalar(select(User.password_hash).where(User.email == ALEX)).startswith("$argon2id$")
    r = c.post("/logout")
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert c.get("/queue").status_code == 302
    assert web.env.audit("web_logout")[0].actor == ALEX
    with web.env.store.begin() as s:
        assert s.scalars(select(WebSession)).all() == []


def test_an_open_redirect_after_sign_in_is_refused(web: Web) -> None:
    for target in ("https://evil.example.net/", "//evil.example.net/x", "/\\evil.example.net"):
        r = Client(web.app).login(ALEX, next=target)
        assert r.status_code == 303 and r.headers["Location"] == "/queue", target
    r = Client(web.app).login(ALEX, next=f"/items/{web.items.access}")
    assert r.headers["Location"] == f"/items/{web.items.access}"


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_account(web: Web) -> None:
    c = Client(web.app)
    for _ in range(accounts.LOCK_AFTER - 1):
        r = c.login(ALEX, "wrong password!!")
        assert r.status_code == 401 and "Wrong email or password" in r.text
    r = c.login(ALEX, "wrong password!!")
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    # Locked: even the right password is refused until the lock passes.
    r = c.login(ALEX)
    assert r.status_code == 429
    at(NOW + timedelta(seconds=accounts.LOCK_FIRST_SECONDS + 1))
    assert c.login(ALEX).status_code == 303
    # Each further failure doubles the wait, up to the ceiling.
    assert [accounts.lock_seconds(n) for n in range(4, 12)] == [0, 30, 60, 120, 240, 480, 900, 900]
    failed = web.env.audit("web_login_failed")
    assert [e.detail["reason"] for e in failed] == ["password"] * accounts.LOCK_AFTER + ["locked"]
    assert failed[accounts.LOCK_AFTER - 1].detail["locked_seconds"] == accounts.LOCK_FIRST_SECONDS
    with web.env.store.begin() as s:  # a success clears the count
        assert s.scalar(select(User.failed_logins).where(User.email == ALEX)) == 0


def test_unknown_and_disabled_accounts_get_the_same_answer(web: Web) -> None:
    with web.env.store.begin() as s:
        accounts.set_disabled(s, SAM, True)
    for email in ("nobody@dmh.example.org", SAM):
        r = Client(web.app).login(email)
        assert r.status_code == 401 and "Wrong email or password" in r.text


def test_disabling_an_account_ends_its_sessions(web: Web) -> None:
    c = signed_in(web, ALEX)
    with web.env.store.begin() as s:
        accounts.set_disabled(s, ALEX, True)
    assert c.get("/queue").status_code == 302


# --------------------------------------------------------------------------- CSRF


def test_every_form_needs_its_csrf_token(web: Web) -> None:
    c = signed_in(web, ALEX)
    item = f"/items/{web.items.emergent}/acknowledge"
    assert c.post(item, csrf=False).status_code == 400
    assert c.post(item, {"csrf_token": "forged"}).status_code == 400
    other = signed_in(web, ALEX)  # a token of another session of the same user does not do either
    assert c.post(item, {"csrf_token": other.token}).status_code == 400
    assert c.post("/logout", csrf=False).status_code == 400
    with web.env.store.begin() as s:
        assert s.scalar(select(AssessmentRow.acknowledged_at)
                        .where(AssessmentRow.message_record_id == web.items.emergent)) is None
    assert c.post(item).status_code == 303  # with its token it works


def test_the_sign_in_form_has_its_own_token(web: Web) -> None:
    c = Client(web.app)
    c.c.get("/login")
    r = c.c.post("/login", data={"email": ALEX, "password": PASSWORD})
    assert r.status_code == 400 and "expired" in r.text
    fresh = Client(web.app)  # no login cookie at all
    r = fresh.c.post("/login", data={"email": ALEX, "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 400
    assert web.env.audit("web_login") == []


# --------------------------------------------------------------------------- roles and scope


def queue_items(c: Client, query: str = "") -> list[int]:
    r = c.get("/queue" + query)
    assert r.status_code == 200
    return [int(n) for n in re.findall(r'id="item-(\d+)"', r.text)]


def test_each_role_sees_its_own_items_and_others_are_404(web: Web) -> None:
    i = web.items
    alex = signed_in(web, ALEX)
    assert queue_items(alex) == [i.emergent, i.access, i.amendment, i.unverified]
    assert alex.get(f"/items/{i.confidential}").status_code == 404
    assert alex.get(f"/items/{i.child_emergent}").status_code == 404
    assert alex.get("/items/99999").status_code == 404
    for action in ("acknowledge", "resolve", "extend", "step", "correct"):
        r = alex.post(f"/items/{i.child_emergent}/{action}", {"note": "x", "right": "access", "step": "forms_sent",
                                                                "reason": "x", "emergent": "no"})
        assert r.status_code == 404, action
    with web.env.store.begin() as s:
        row = s.scalar(select(AssessmentRow).where(AssessmentRow.message_record_id == i.child_emergent))
        assert row.acknowledged_at is None and row.resolved_at is None
        assert s.scalars(select(LabelCorrection)).all() == []
    # An alias of Alex's is Alex.
    assert queue_items(signed_in(web, ALIAS)) == [i.emergent, i.access, i.amendment, i.unverified]
    assert queue_items(signed_in(web, SAM)) == [i.confidential]
    assert queue_items(signed_in(web, ROBIN)) == [i.child_emergent]
    sup = signed_in(web, SUPERVISOR)  # adult-op: Alex and Sam, not the children's clinic
    assert queue_items(sup) == [i.emergent, i.access, i.amendment, i.confidential, i.unverified]
    assert sup.get(f"/items/{i.child_emergent}").status_code == 404
    assert sup.get(f"/items/{i.confidential}").status_code == 200
    admin = signed_in(web, ADMIN)
    assert queue_items(admin) == [i.emergent, i.child_emergent, i.access, i.amendment, i.confidential, i.unverified]
    assert admin.get(f"/items/{i.child_emergent}").status_code == 200
    # Every look at the queue is audited with who looked.
    viewers = [e.actor for e in web.env.audit("queue_viewed")]
    assert {ALEX, ALIAS, SAM, ROBIN, SUPERVISOR, ADMIN} <= set(viewers)


# --------------------------------------------------------------------------- sessions expire


def test_an_idle_session_expires(web: Web) -> None:
    c = signed_in(web, ALEX)
    idle = web.env.config.web.session_idle_minutes
    at(NOW + timedelta(minutes=idle - 1))
    assert c.get("/queue").status_code == 200  # used: the idle time starts again
    at(NOW + timedelta(minutes=2 * idle - 2))
    assert c.get("/queue").status_code == 200
    at(NOW + timedelta(minutes=3 * idle))
    r = c.get("/queue")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert any("triage-session=;" in h for h in r.headers.getlist("Set-Cookie"))  # the cookie is dropped
    ended = web.env.audit("web_session_ended")
    assert [e.detail["reason"] for e in ended] == ["expired"]
    # A form posted after expiry is refused, not carried out.
    assert c.post(f"/items/{web.items.emergent}/acknowledge").status_code == 403


def test_a_session_ends_at_its_absolute_limit_however_busy(web: Web) -> None:
    c = signed_in(web, ALEX)
    limit = timedelta(hours=web.env.config.web.session_max_hours)
    t = NOW
    while t + timedelta(minutes=20) < NOW + limit:
        t += timedelta(minutes=20)
        at(t)
        assert c.get("/queue").status_code == 200
    at(NOW + limit + timedelta(minutes=1))
    assert c.get("/queue").status_code == 302


# --------------------------------------------------------------------------- single sign-on header


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Web]:
    env = build_env(tmp_path, web='secure_cookies = false\ntrusted_proxies = ["127.0.0.9", "10.1.0.0/24"]\n'
                                  'proxy_user_header = "X-Remote-User"')
    items = fill(env)
    at(NOW)
    yield Web(env, items, create_app(env.config, env.store, env.crypto, secret_key=b"1" * 64))
    env.store.dispose()


def test_the_proxy_header_is_believed_only_from_a_trusted_proxy(proxied: Web) -> None:
    via_proxy = Client(proxied.app, remote="10.1.0.7", headers={"X-Remote-User": "Alex.Morgan@dmh.example.org"})
    assert queue_items(via_proxy) == [proxied.items.emergent, proxied.items.access, proxied.items.amendment,
                                      proxied.items.unverified]
    assert proxied.env.audit("web_login")[0].detail["via"] == "proxy"
    assert via_proxy.post(f"/items/{proxied.items.emergent}/acknowledge").status_code == 303  # CSRF still applies
    assert via_proxy.post(f"/items/{proxied.items.access}/acknowledge", csrf=False).status_code == 400
    # The same header from anyone else is ignored: sign in first.
    for remote in ("127.0.0.1", "10.1.1.7", "192.0.2.1"):
        forged = Client(proxied.app, remote=remote, headers={"X-Remote-User": ALEX})
        r = forged.get("/queue")
        assert r.status_code == 302 and "/login" in r.headers["Location"], remote
    # A user the proxy names who has no account here is refused.
    stranger = Client(proxied.app, remote="127.0.0.9", headers={"X-Remote-User": "someone@dmh.example.org"})
    assert stranger.get("/queue").status_code == 403
    # The proxy naming another user replaces the session's user.
    via_proxy.headers["X-Remote-User"] = SAM
    assert queue_items(via_proxy) == [proxied.items.confidential]


def test_without_trusted_proxies_the_header_means_nothing(web: Web) -> None:
    c = Client(web.app, remote="127.0.0.1", headers={"X-Forwarded-User": ALEX})
    assert c.get("/queue").status_code == 302


# --------------------------------------------------------------------------- the queue


def test_the_queue_puts_emergent_on_top_marks_overdue_and_filters(web: Web) -> None:
    i = web.items
    admin = signed_in(web, ADMIN)
    r = admin.get("/queue")
    rows = re.findall(r'<tr class="([^"]*)" id="item-(\d+)"', r.text)
    assert [int(n) for _, n in rows][:2] == [i.emergent, i.child_emergent]
    assert "urgent" in rows[0][0]
    assert "2 emergent not acknowledged" in text_of(r)
    assert "OVERDUE" not in r.text
    # Five weeks later the access request (30 days) is overdue; the confidential one (10 business days) too.
    at(NOW + timedelta(days=35))
    admin.login(ADMIN)
    r = admin.get("/queue")
    overdue = [int(n) for cls, n in re.findall(r'<tr class="([^"]*)" id="item-(\d+)"', r.text) if "overdue" in cls]
    assert overdue == [i.access, i.confidential]
    assert text_of(r).count("OVERDUE") == 2
    assert queue_items(admin, "?overdue=1") == [i.access, i.confidential]
    # Overdue rights requests come first among rights requests.
    assert queue_items(admin, "?flag=rights_request") == [i.access, i.confidential, i.amendment]
    assert queue_items(admin, "?flag=emergent") == [i.emergent, i.child_emergent]
    assert queue_items(admin, "?flag=bogus") == queue_items(admin)  # an unknown flag is no filter
    # Resolved items leave the queue and show under "resolved".
    admin.post(f"/items/{i.unverified}/resolve", {"note": "called; it was the client's brother"})
    assert i.unverified not in queue_items(admin)
    assert queue_items(admin, "?show=resolved") == [i.unverified]
    assert i.unverified in queue_items(admin, "?show=all")
    assert "Nothing to review" in admin.get("/queue?flag=multiple_clients").text


def test_the_queue_shows_times_in_the_viewers_zone(web: Web) -> None:
    alex = signed_in(web, ALEX)  # Los Angeles (the program's)
    assert "Mon 16 Nov, 11:00" in alex.get("/queue").text
    robin = signed_in(web, ROBIN)  # the children's clinic is in New York
    assert "Mon 16 Nov, 18:00" in robin.get("/queue").text
    # A personal setting wins.
    assert robin.post("/settings", {"time_zone": "Europe/Paris"}).status_code == 303
    assert "Tue 17 Nov, 00:00" in robin.get("/queue").text
    assert robin.post("/settings", {"time_zone": "Mars/Olympus"}).status_code == 400


# --------------------------------------------------------------------------- an item


def test_an_emergent_item_says_what_to_do_now(web: Web) -> None:
    alex = signed_in(web, ALEX)
    r = alex.get(f"/items/{web.items.emergent}")
    assert r.status_code == 200
    page = text_of(r)
    now_box = page[page.index("What to do now"):page.index("Next:")]
    assert "Pat Example (C-1): 555-0101" in now_box  # from the registry
    assert "(800) 555-0199" in now_box  # [department] crisis_line
    assert "911" in now_box and "988" in now_box
    assert 'href="tel:555-0101"' in r.text
    # The reasons with their evidence, the required actions with their state.
    assert "evidence: pills tonight" in page
    assert "Respond now by the most effective means" in page
    # The message, read from the Maildir now: new text shown, quoted history collapsed.
    assert "i have the pills tonight and i am scared" in page
    assert "Private subject 2" in page
    assert re.search(r"<details><summary>Earlier messages \(quoted\)</summary><pre[^>]*>On Mon, 9 Nov 2026", r.text)
    assert "&gt; Our next session is on Thursday." in r.text
    assert "Mon 16 Nov 2026, 11:00 PST" in page  # received, in Alex's zone
    # Every view is audited, with the user.
    assert [e.actor for e in web.env.audit("item_viewed", web.items.emergent)] == [ALEX]
    assert web.env.audit("message_text_viewed", web.items.emergent)[0].detail == {"available": True}


def test_an_item_page_is_not_cached_and_has_a_strict_policy(web: Web) -> None:
    r = signed_in(web, ALEX).get(f"/items/{web.items.emergent}")
    assert r.headers["Cache-Control"] == "no-store"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in r.text and " style=" not in r.text and "onclick" not in r.text


def test_a_rights_item_shows_its_draft_and_clocks(web: Web) -> None:
    r = signed_in(web, ALEX).get(f"/items/{web.items.access}")
    page = text_of(r)
    draft = page[page.index("The draft in your Drafts folder"):page.index("The message")]
    assert "To client@example.com" in draft
    assert "access-request-SAMPLE.pdf" in draft
    assert "[secure] Your request about your health information" in draft
    assert "must be completed and signed" in draft
    rights = page[page.index("Rights requests"):page.index("Why it was flagged")]
    assert "due Wed 16 Dec 2026 : act, 45 CFR 164.524, 30 days" in rights
    assert "due Mon 23 Nov 2026 : inspect, Cal. H&S 123110, 5 working days" in rights
    # Consent failing: no draft, the forms go by letter to the mailing address on file.
    r = signed_in(web, ALEX).get(f"/items/{web.items.amendment}")
    page = text_of(r)
    assert "The draft in your Drafts folder" not in page
    assert "mail to: 2 Main St" in page


def test_a_message_that_is_gone_from_the_mailbox_is_said_so(web: Web) -> None:
    web.env.files[web.items.access].unlink()
    r = signed_in(web, ALEX).get(f"/items/{web.items.access}")
    assert r.status_code == 200
    assert "The message cannot be shown: the message is no longer in folder INBOX of mailbox alex" in text_of(r)
    assert web.env.audit("message_text_viewed", web.items.access)[0].detail == {"available": False}


def test_a_mailbox_that_cannot_be_read_is_said_so(web: Web) -> None:
    def broken(config: object, where: object) -> MessageText:
        return MessageText(False, "mailbox alex could not be read now (SourceError)")

    app = create_app(web.env.config, web.env.store, web.env.crypto, secret_key=b"2" * 64, read_message=broken)
    c = Client(app)
    c.login(ALEX)
    r = c.get(f"/items/{web.items.access}")
    assert r.status_code == 200 and "could not be read now (SourceError)" in text_of(r)
    assert "Why it was flagged" in r.text  # the rest of the page is there


def test_message_text_is_escaped(web: Web) -> None:
    item = web.env.deliver("alex", '<script>alert("x")</script> please send me a copy of my records <b>now</b>',
                           sender="client@example.com", at=NOW)
    r = signed_in(web, ALEX).get(f"/items/{item}")
    assert "<script>" not in r.text and "<b>now</b>" not in r.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text


# --------------------------------------------------------------------------- the buttons


def test_acknowledge(web: Web) -> None:
    alex = signed_in(web, ALEX)
    r = alex.post(f"/items/{web.items.emergent}/acknowledge")
    assert r.status_code == 303 and r.headers["Location"] == f"/items/{web.items.emergent}?done=acknowledged#top"
    page = text_of(alex.get(r.headers["Location"]))
    assert "Acknowledged." in page and f"acknowledged Mon 16 Nov 2026, 16:00 PST by {ALEX}" in page
    assert "What to do now" in page  # still emergent until resolved
    [event] = web.env.audit("item_acknowledged", web.items.emergent)
    assert event.actor == ALEX and event.detail["emergent"] is True
    assert 'class="audit-item_acknowledged"' in alex.get(f"/items/{web.items.emergent}").text  # in the history
    r = alex.post(f"/items/{web.items.emergent}/acknowledge")
    assert r.headers["Location"].endswith("done=already#top")
    assert len(web.env.audit("item_acknowledged")) == 1


def test_resolve_needs_a_note_and_open_rights_block_it(web: Web) -> None:
    alex = signed_in(web, ALEX)
    r = alex.post(f"/items/{web.items.unverified}/resolve", {"note": "  "})
    assert r.status_code == 409 and "a note is required" in r.text
    r = alex.post(f"/items/{web.items.access}/resolve", {"note": "sent the forms"})
    assert r.status_code == 409 and "open rights requests (access)" in r.text
    r = alex.post(f"/items/{web.items.unverified}/resolve", {"note": "called the sender; a relative"})
    assert r.status_code == 303
    page = text_of(alex.get(f"/items/{web.items.unverified}"))
    assert "note: called the sender; a relative" in page and "Acknowledge" not in page
    assert [e.actor for e in web.env.audit("item_resolved")] == [ALEX]
    assert "called the sender" not in str([e.detail for e in web.env.audit("item_resolved")])


def test_rights_steps_and_the_extension(web: Web) -> None:
    alex = signed_in(web, ALEX)
    url = f"/items/{web.items.access}"
    assert alex.post(url + "/step", {"right": "access", "step": "fulfilled"}).status_code == 409  # not before the form
    assert alex.post(url + "/step", {"right": "access", "step": "forms_sent",
                                     "at": "2026-11-16T14:30"}).status_code == 303
    assert alex.post(url + "/step", {"right": "access", "step": "forms_sent"}).status_code == 409  # forward only
    assert alex.post(url + "/step", {"right": "access", "step": "signed_form_received"}).status_code == 303
    r = alex.post(url + "/extend", {"right": "access", "reason": ""})
    assert r.status_code == 409 and "a reason is required" in r.text
    assert alex.post(url + "/extend", {"right": "access", "reason": "records are archived off site"}).status_code == 303
    page = text_of(alex.get(url))
    assert f"forms sent Mon 16 Nov 2026, 14:30 PST by {ALEX}" in page
    assert "due Fri 15 Jan 2027 (was Wed 16 Dec 2026): act" in page
    assert "extension reason: records are archived off site" in page
    assert "Reason for the one extension" not in page  # one extension only
    assert alex.post(url + "/step", {"right": "access", "step": "fulfilled"}).status_code == 303
    with web.env.store.begin() as s:
        rr = s.scalar(select(RightsRequest).where(RightsRequest.message_record_id == web.items.access))
        assert rr.state == "fulfilled" and rr.closed_by == ALEX
    steps = web.env.audit("rights_step", web.items.access)
    assert [(e.actor, e.detail["step"]) for e in steps] == [(ALEX, "forms_sent"), (ALEX, "signed_form_received"),
                                                            (ALEX, "fulfilled")]
    assert [e.actor for e in web.env.audit("rights_extended")] == [ALEX]
    assert alex.post(url + "/resolve", {"note": "copies handed over"}).status_code == 303


def test_correcting_the_labels(web: Web) -> None:
    alex = signed_in(web, ALEX)
    url = f"/items/{web.items.unverified}"
    r = alex.post(url + "/correct", {"emergent": "", "clinical": ""})
    assert r.status_code == 409 and "nothing to correct" in r.text
    r = alex.post(url + "/correct", {"set_rights": "1", "rights": ["access", "amendment"], "purpose": "scheduling"})
    assert r.status_code == 303 and r.headers["Location"].endswith("done=corrected#top")
    page = text_of(alex.get(url))
    assert "Rights requested (now: access, amendment)" in page and "labels corrected" in page
    assert "Rights requests" in page  # the rights workflow appears
    alex.post(f"/items/{web.items.emergent}/correct", {"emergent": "no"})
    with web.env.store.begin() as s:
        rows = s.scalars(select(LabelCorrection).order_by(LabelCorrection.id)).all()
        assert [(c.message_record_id, c.corrected_by, c.hipaa_rights, c.purpose, c.emergent) for c in rows] == [
            (web.items.unverified, ALEX, "access amendment", "scheduling", None),
            (web.items.emergent, ALEX, None, None, False)]
    assert [e.actor for e in web.env.audit("labels_corrected")] == [ALEX, ALEX]
    assert "What to do now" not in alex.get(f"/items/{web.items.emergent}").text


# --------------------------------------------------------------------------- help, headers, logs


def test_the_help_page_has_a_paragraph_per_flag(web: Web) -> None:
    from triage.policy import FLAGS

    r = signed_in(web, SAM).get("/help")
    for flag in FLAGS:
        assert f'id="{flag}"' in r.text
    page = text_of(r)
    for words in ("standard 6", "standards 9 and 10", "standard 5", "standard 8", "What to do:", "(800) 555-0199"):
        assert words in page


def test_cookies_are_secure_by_default(tmp_path: Path) -> None:
    env = build_env(tmp_path, web="")
    try:
        app = create_app(env.config, env.store, env.crypto, secret_key=b"3" * 64)
        c = app.test_client()
        r = c.get("/login", base_url="https://triage.example.org")
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith("__Host-triage-login=") and "Secure" in cookie and "HttpOnly" in cookie
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"email": ALEX, "password": PASSWORD, "csrf_token": token},
                   base_url="https://triage.example.org")
        session = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("__Host-triage-session="))
        assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        env.store.dispose()


def test_no_message_text_or_name_reaches_the_logs(web: Web, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    web.env.files[web.items.amendment].unlink()
    for email in (ALEX, ADMIN):
        c = signed_in(web, email)
        c.get("/queue")
        for item in (web.items.emergent, web.items.access, web.items.amendment):
            c.get(f"/items/{item}")
        c.post(f"/items/{web.items.emergent}/acknowledge")
        c.post(f"/items/{web.items.unverified}/resolve", {"note": "spoke with Pat Example"})
    Client(web.app).login(ALEX, "wrong password!!")
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in (*PRIVATE, "i am scared", "Our next session"):
        assert secret not in logged
    with web.env.store.begin() as s:
        details = str([(e.actor, e.detail) for e in s.scalars(select(AuditEvent))])
    for secret in PRIVATE:
        assert secret not in details


# --------------------------------------------------------------------------- config


def test_web_config_is_checked() -> None:
    base = '[web]\nhost = "0.0.0.0"\nsecure_cookies = false\n'
    with pytest.raises(ConfigError, match=re.escape("line 3: `web.secure_cookies` is false but host '0.0.0.0'")):
        parse_config(base)
    with pytest.raises(ConfigError, match=re.escape("`web.trusted_proxies` holds 'proxy.example.org'")):
        parse_config('[web]\ntrusted_proxies = ["proxy.example.org"]\n')
    with pytest.raises(ConfigError, match=re.escape("`web.same_site` is 'None'")):
        parse_config('[web]\nsame_site = "None"\n')
    c = parse_config('[store]\ndata_dir = "/srv/triage"\n[web]\ntrusted_proxies = ["10.0.0.0/8"]\n')
    assert c.web.trusted_proxies == ("10.0.0.0/8",) and c.web.secret_key_file == Path("/srv/triage/web.key")
    assert (c.web.host, c.web.port, c.web.secure_cookies, c.web.session_idle_minutes) == ("127.0.0.1", 8080, True, 30)


def test_the_secret_key_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "web.key"
    key = load_secret_key(path)
    assert len(key) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert load_secret_key(path) == key


# --------------------------------------------------------------------------- commands


def run(argv: list[str], config: Path) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    register(parser.add_subparsers())
    args = parser.parse_args(["--config", str(config), *argv])
    return int(args.func(args))


def test_user_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = build_env(tmp_path)
    env.store.dispose()
    cfg = env.config.path
    assert cfg is not None
    pw = tmp_path / "pw"
    pw.write_text("a long enough secret\n")
    with pytest.raises(TriageError, match="already exists"):
        run(["user", "add", "Sam.Lee@dmh.example.org", "--role", "clinician", "--password-file", str(pw)], cfg)
    with pytest.raises(TriageError, match="no configured clinician"):
        run(["user", "add", "pat@dmh.example.org", "--role", "clinician", "--password-file", str(pw)], cfg)
    with pytest.raises(TriageError, match="needs --program"):
        run(["user", "add", "lead@dmh.example.org", "--role", "supervisor", "--password-file", str(pw)], cfg)
    with pytest.raises(TriageError, match="unknown program"):
        run(["user", "add", "lead@dmh.example.org", "--role", "supervisor", "--program", "nope",
             "--password-file", str(pw)], cfg)
    short = tmp_path / "short"
    short.write_text("short\n")
    with pytest.raises(TriageError, match="at least 12 characters"):
        run(["user", "add", "lead@dmh.example.org", "--role", "administrator", "--password-file", str(short)], cfg)
    assert run(["user", "add", "lead@dmh.example.org", "--role", "supervisor", "--program", "child", "--name",
                "Lee Lead", "--password-file", str(pw)], cfg) == 0
    assert "added lead@dmh.example.org (supervisor, program child)" in capsys.readouterr().out
    assert run(["user", "add", "sso@dmh.example.org", "--role", "administrator", "--no-password"], cfg) == 0
    assert run(["user", "disable", "lead@dmh.example.org"], cfg) == 0
    capsys.readouterr()
    assert run(["user", "list"], cfg) == 0
    out = capsys.readouterr().out
    assert re.search(r"lead@dmh.example.org\s+Lee Lead\s+supervisor\s+child\s+disabled", out)
    assert re.search(r"sso@dmh.example.org\s+administrator\s+-\s+active \(proxy only\)", out)
    assert re.search(r"alex.morgan@dmh.example.org\s+Alex Morgan\s+clinician\s+adult-op\s+active", out)
    assert run(["user", "enable", "lead@dmh.example.org"], cfg) == 0
    new = tmp_path / "new"
    new.write_text("another long secret\n")
    assert run(["user", "password", ALEX, "--password-file", str(new)], cfg) == 0
    from triage.store import Store

    store = Store(env.config.store.url)
    try:
        with store.begin() as s:
            assert accounts.sign_in(s, ALEX, "another long secret").account is not None
            assert accounts.sign_in(s, "lead@dmh.example.org", "a long enough secret").account is not None
            assert accounts.sign_in(s, "sso@dmh.example.org", "").account is None
        with store.begin() as s:
            actions = {e.action for e in s.scalars(select(AuditEvent))}
        assert {"user_added", "user_disabled", "user_enabled", "user_password_set"} <= actions
    finally:
        store.dispose()


def test_user_add_asks_for_the_password_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = build_env(tmp_path)
    env.store.dispose()
    assert env.config.path is not None
    answers = iter(["a long enough secret", "a different secret!!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(TriageError, match="differ"):
        run(["user", "add", "boss@dmh.example.org", "--role", "administrator"], env.config.path)
    answers = iter(["a long enough secret", "a long enough secret"])
    assert run(["user", "add", "boss@dmh.example.org", "--role", "administrator"], env.config.path) == 0


def test_serve_runs_waitress_on_the_configured_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = build_env(tmp_path)
    env.store.dispose()
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "triage.web", "--config", str(env.config.path), "serve",
                                 "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True,
                                env={**os.environ, "TRIAGE_KEY": ""})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"serving the review pages on (http://\S+)", line)
        assert url, line + log.read_text()
        with urllib.request.urlopen(url.group(1) + "/healthz", timeout=10) as r:
            assert r.read() == b"ok\n" and r.headers["Server"] == "triage"
        with urllib.request.urlopen(url.group(1) + "/login", timeout=10) as r:
            assert "Sign in" in r.read().decode() and r.headers["Cache-Control"] == "no-store"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
        if proc.stdout is not None:
            proc.stdout.close()


# --------------------------------------------------------------------------- the message from IMAP


@pytest.mark.imap
def test_the_message_is_read_over_imap_at_view_time_without_marking_it_seen(
        tmp_path: Path, dovecot: Dovecot, imap_user: str) -> None:
    from conftest import write_config

    from triage.config import load_config
    from triage.crypto import load_crypto
    from triage.store import Store
    from triage.store.models import MessageRecord
    from triage.web import mailtext
    from triage.worker import Worker

    pw = tmp_path / "imap.pw"
    pw.write_text(dovecot.users[imap_user])
    cfg = write_config(tmp_path, f"""
        [servers.dc]
        host = "127.0.0.1"
        port = {dovecot.port}
        security = "plain"
        connect_timeout = 5
        read_timeout = 10

        [[mailboxes]]
        name = "imapbox"
        clinician = "alex.morgan@dmh.example.org"
        kind = "imap"
        server = "dc"
        user = "{imap_user}"
        password_file = "{pw}"
    """)
    raw = web_mail(1, sender="stranger@example.net", body="hello from my new address",
                   quoted="Our next session is on Thursday.")
    dovecot.deliver(imap_user, raw.replace(b"\n", b"\r\n"))
    config = load_config(cfg)
    store = Store(config.store.url)
    store.ensure_schema()
    worker = Worker(config, store, load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file))
    try:
        [result] = worker.poll_all()
        assert result.total("recorded") == 1
    finally:
        worker.close()
    try:
        with store.begin() as s:
            item = s.scalar(select(MessageRecord.id))
            assert item is not None
            where = mailtext.locate(s, config, item)
        before = dovecot.flags(imap_user)
        text = mailtext.read(config, where)
        assert text.available, text.problem
        assert text.new_text.strip() == "hello from my new address"
        assert "Our next session is on Thursday." in text.quoted_text
        assert text.subject == "Private subject 1" and "stranger@example.net" in text.sender
        assert dovecot.flags(imap_user) == before  # BODY.PEEK[]: \Seen and every other flag as they were
        assert not any("\\Seen" in f for f in before.values())
        # The folder renumbered since: the UID no longer names the message.
        with store.begin() as s:
            record = s.get(MessageRecord, item)
            assert record is not None
            record.uidvalidity += 1
            moved = mailtext.locate(s, config, item)
        text = mailtext.read(config, moved)
        assert not text.available and "renumbered" in text.problem
        # The server refuses the login: said, without the server's words.
        pw.write_text("wrong")
        text = mailtext.read(config, where)
        assert not text.available and text.problem.startswith("mailbox imapbox could not be read now (")
    finally:
        store.dispose()
