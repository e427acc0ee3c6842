"""The review pages: a Flask application over `triage.review`.

Server-rendered HTML (Jinja2, autoescaped), one small stylesheet, no script: every button is a
form, so the pages work on a locked-down clinic desktop and a phone alike.

Who sees what: a clinician their own mailboxes' items (`Mailbox.clinician_email` is their address
or an alias), a supervisor their program's, an administrator all; any other item is a 404, for
pages and forms alike. Every view and action goes through `triage.review`, which audits it with
the signed-in user's email.

Security: server-side sessions (`triage.web.accounts`) in a cookie that is HttpOnly, SameSite and
Secure (unless `[web] secure_cookies = false`, loopback only); a per-session CSRF token checked on
every POST (the sign-in form has its own, bound to a cookie); an optional single-sign-on header
believed only from `[web] trusted_proxies`; `Cache-Control: no-store` and a strict
Content-Security-Policy on every page. Nothing of a message (text, subject, names) is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, g, redirect, render_template, request, url_for
from jinja2 import StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from triage import review
from triage.clock import now
from triage.clocks import RIGHTS
from triage.config import Config
from triage.crypto import Crypto
from triage.detect import PURPOSES
from triage.policy import FLAGS, RIGHT_NAMES
from triage.store import Store
from triage.store.ledger import audit
from triage.store.models import AuditEvent, Clinician, Program
from triage.web import accounts, mailtext, texts
from triage.web.accounts import Account
from triage.web.details import ClientContact, DraftView, clients_of, draft_of

log = logging.getLogger("triage.web")

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
_OPEN = {"static", "health", "login"}  # endpoints reachable without signing in
_NOBODY = "\x00nobody"  # a program id no item has: a supervisor without a program sees nothing

MessageReader = Callable[[Config, "mailtext.Location | mailtext.MessageText"], mailtext.MessageText]


@dataclass(frozen=True)
class _Cookies:
    session: str
    login: str


def create_app(config: Config, store: Store, crypto: Crypto, *, secret_key: bytes,
               read_message: MessageReader | None = None) -> Flask:
    """The application. `read_message` replaces the mailbox reader (tests)."""
    app = Flask("triage.web", root_path=str(HERE), template_folder="templates", static_folder="static")
    # Flask's own cookie session is not used (sessions are server-side); the key only guards against misuse.
    app.config.update(SECRET_KEY=secret_key, MAX_CONTENT_LENGTH=256 * 1024, TEMPLATES_AUTO_RELOAD=False)
    app.jinja_env.autoescape = True
    app.jinja_env.undefined = StrictUndefined
    web = config.web
    proxies = tuple(ipaddress.ip_network(p, strict=False) for p in web.trusted_proxies)
    prefix = "__Host-" if web.secure_cookies else ""  # __Host-: Secure, host-only, Path=/
    cookies = _Cookies(f"{prefix}triage-session", f"{prefix}triage-login")
    reader = read_message or (lambda cfg, where: mailtext.read(cfg, where))

    # ------------------------------------------------------------------ who is asking

    def scope(acct: Account) -> dict[str, str]:
        if acct.role == "administrator":
            return {}
        if acct.role == "supervisor":
            return {"program": acct.program or _NOBODY}
        return {"clinician": acct.email}

    def zone_of(s: Session, acct: Account) -> str:
        if acct.time_zone:
            return acct.time_zone
        if acct.role == "clinician":
            c = s.get(Clinician, review.primary_email(s, acct.email))
            if c is not None:
                return c.time_zone
        p = s.get(Program, acct.program) if acct.program else None
        return p.time_zone if p is not None else config.department.time_zone

    def from_trusted_proxy() -> bool:
        if not proxies or not request.remote_addr:
            return False
        try:
            addr = ipaddress.ip_address(request.remote_addr)
        except ValueError:
            return False
        return any(addr in net for net in proxies)

    @app.before_request
    def authenticate() -> Any:
        g.account, g.csrf, g.zone, g.set_cookie, g.drop_cookie = None, "", config.department.time_zone, "", False
        g.proxy_refused = False
        if request.endpoint in ("static", "health"):
            return None
        token = request.cookies.get(cookies.session, "")
        proxy_user = request.headers.get(web.proxy_user_header, "").strip() if web.trusted_proxies else ""
        if proxy_user and not from_trusted_proxy():
            log.warning("single-sign-on header from an address that is not a trusted proxy; ignored",
                        extra={"remote_addr": request.remote_addr})
            proxy_user = ""
        with store.begin() as s:
            found = accounts.resume(s, token, web) if token else None
            if token and found is None:
                g.drop_cookie = True
            if proxy_user and (found is None or found[0].email != accounts.normalise(proxy_user)):
                user = accounts.find(s, proxy_user)
                if user is None or user.disabled:
                    audit(s, "web_login_failed", actor="proxy", reason="no such user" if user is None else "disabled")
                    found, g.proxy_refused = None, True
                else:
                    new_token, csrf = accounts.start_session(s, user.id, via="proxy")
                    user.last_login_at = now()
                    g.set_cookie, g.drop_cookie = new_token, False
                    found = (accounts.account(user), csrf, None)
            if found is not None:
                g.account, g.csrf = found[0], found[1]
                g.zone = zone_of(s, g.account)
        if g.proxy_refused:
            abort(403, "Your single-sign-on account has no access to triage. Ask the administrator to add you "
                       "(triage user add).")
        if g.account is None and request.endpoint == "logout":
            return redirect(url_for("login"), 303)
        if g.account is None and request.endpoint not in _OPEN:
            if request.method == "GET":
                return redirect(url_for("login", next=request.full_path if request.query_string else request.path))
            abort(403, "You are signed out (the session ended). Sign in again and repeat the action.")
        if request.method == "POST" and request.endpoint != "login" and not accounts.same(
                request.form.get("csrf_token", ""), g.csrf):
            abort(400, "This form was not sent from this page or has expired. Go back, reload the page and try "
                       "again.")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        if g.get("set_cookie"):
            response.set_cookie(cookies.session, g.set_cookie, secure=web.secure_cookies, httponly=True,
                                samesite=web.same_site, path="/")
        elif g.get("drop_cookie"):
            response.delete_cookie(cookies.session, secure=web.secure_cookies, httponly=True,
                                   samesite=web.same_site, path="/")
        h = response.headers
        h["Content-Security-Policy"] = CSP
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "no-referrer"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        if web.secure_cookies:
            h["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint != "static":
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        return response

    # ------------------------------------------------------------------ templates

    @app.context_processor
    def page_values() -> dict[str, Any]:
        return {"me": g.get("account"), "csrf": g.get("csrf", ""), "zone": g.get("zone", ""),
                "department": config.department.name, "titles": texts.TITLES}

    def local(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
        if value is None:
            return "-"
        return value.astimezone(ZoneInfo(g.get("zone") or config.department.time_zone)).strftime(fmt)

    def day(value: date | None) -> str:
        return value.strftime("%a %d %b %Y") if value else "-"

    def ago(value: datetime | None) -> str:
        if value is None:
            return ""
        seconds = int((now() - value).total_seconds())
        if seconds < 60:
            return "just now"
        for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
            if seconds >= size:
                n = seconds // size
                return f"{n} {unit}{'s' if n != 1 else ''} ago"
        return ""

    app.jinja_env.filters.update(local=local, day=day, ago=ago,
                                 words=lambda v: str(v).replace("_", " "),
                                 step=lambda v: texts.STEP_NAMES.get(v, str(v).replace("_", " ")))

    # ------------------------------------------------------------------ errors

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        titles = {400: "The form was refused", 403: "Not allowed", 404: "Not found",
                  405: "Not allowed", 413: "Too large"}
        default = {404: "There is no such page or item, or it is not one of yours."}
        text = exc.description if exc.code in (400, 403) else default.get(exc.code or 0, "")
        return render_template("error.html", title=titles.get(exc.code or 0, exc.name), text=text), exc.code or 500

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> tuple[str, int]:
        # The class only: an exception's text may hold a database statement's values.
        log.error("page failed", extra={"endpoint": request.endpoint, "error_class": type(exc).__name__})
        return render_template("error.html", title="Something went wrong",
                               text="The page could not be shown. Try again; if it keeps failing tell the "
                                    "administrator the time it happened."), 500

    # ------------------------------------------------------------------ sign-in

    def login_token(nonce: str) -> str:
        return hmac.new(secret_key, b"login:" + nonce.encode(), hashlib.sha256).hexdigest()

    def safe_next(target: str) -> str:
        parts = urlsplit(target)
        if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
            return url_for("queue_page")
        return target

    @app.get("/healthz")
    def health() -> tuple[str, int, dict[str, str]]:
        return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        target = safe_next(request.values.get("next", ""))
        if g.account is not None:
            return redirect(target, 303)
        nonce = request.cookies.get(cookies.login, "")
        fresh = not nonce
        nonce = nonce or secrets.token_urlsafe(24)
        error, status = "", 200
        email = ""
        if request.method == "POST":
            email = request.form.get("email", "").strip()
            if fresh or not accounts.same(request.form.get("csrf_token", ""), login_token(nonce)):
                error, status = "The sign-in form expired. Please sign in again.", 400
            else:
                with store.begin() as s:
                    result = accounts.sign_in(s, email, request.form.get("password", ""))
                    if result.account is not None:
                        accounts.purge_expired(s, web)
                        token, _ = accounts.start_session(s, result.account.id)
                if result.account is not None:
                    g.set_cookie = token
                    response = redirect(target, 303)
                    response.delete_cookie(cookies.login, secure=web.secure_cookies, httponly=True,
                                           samesite=web.same_site, path="/")
                    return response
                if result.reason == "locked":
                    minutes = max(1, -(-result.wait_seconds // 60))
                    error = (f"Too many failed sign-ins for this account. Wait {minutes} minute"
                             f"{'s' if minutes != 1 else ''} and try again, or ask the administrator.")
                    status = 429
                else:
                    error, status = "Wrong email or password.", 401
        response = app.make_response((render_template("login.html", error=error, email=email, next=target,
                                                      login_csrf=login_token(nonce)), status))
        if fresh:
            response.set_cookie(cookies.login, nonce, secure=web.secure_cookies, httponly=True,
                                samesite=web.same_site, path="/")
        return response

    @app.post("/logout")
    def logout() -> Any:
        with store.begin() as s:
            accounts.end_session(s, request.cookies.get(cookies.session, ""))
        g.drop_cookie, g.set_cookie = True, ""
        return redirect(url_for("login"), 303)

    # ------------------------------------------------------------------ the queue

    @app.get("/")
    def home() -> Any:
        return redirect(url_for("queue_page"))

    @app.get("/queue")
    def queue_page() -> str:
        acct: Account = g.account
        flag = request.args.get("flag", "")
        flag = flag if flag in FLAGS else ""
        overdue = request.args.get("overdue") == "1"
        show = request.args.get("show", "open")
        show = show if show in ("open", "resolved", "all") else "open"
        with store.begin() as s:
            items = review.queue(s, crypto, overdue=overdue, include_resolved=show != "open", rules=config.clocks,
                                 who=acct.email, **scope(acct))
        if flag:
            items = [i for i in items if flag in i.flags]
        if show == "resolved":
            items = [i for i in items if i.resolved_at is not None]
        counts = {"emergent": sum(1 for i in items if i.emergent and i.resolved_at is None),
                  "waiting": sum(1 for i in items if i.emergent and i.acknowledged_at is None),
                  "overdue": sum(1 for i in items if i.overdue)}
        return render_template("queue.html", items=items, flag=flag, overdue=overdue, show=show, flags=FLAGS,
                               counts=counts, filtered=bool(flag or overdue or show != "open"))

    # ------------------------------------------------------------------ an item

    def item_page(item_id: int, *, error: str = "", status: int = 200) -> tuple[str, int]:
        acct: Account = g.account
        with store.begin() as s:
            try:
                it = review.item(s, crypto, item_id, who=acct.email, rules=config.clocks, **scope(acct))
            except review.ItemError:
                abort(404)
            where = mailtext.locate(s, config, item_id)
            contacts: list[ClientContact] = clients_of(s, crypto, item_id) if it.emergent else []
            draft: DraftView | None = draft_of(s, config, crypto, item_id)
            history = list(s.scalars(select(AuditEvent).where(AuditEvent.message_record_id == item_id)
                                     .order_by(AuditEvent.id.desc()).limit(40)))
        text = reader(config, where)
        with store.begin() as s:
            audit(s, "message_text_viewed", actor=acct.email, mailbox_id=it.mailbox_id, message_record_id=item_id,
                  available=text.available)
        done = texts.DONE.get(request.args.get("done", ""), "")
        phone_on_action = next((ra.action.phone for ra in it.actions if ra.action.kind == "respond_now"
                                and ra.action.phone), "")
        return render_template(
            "item.html", it=it, text=text, contacts=contacts, draft=draft, history=history, error=error, done=done,
            crisis_line=config.department.crisis_line, when_to_call=texts.WHEN_TO_CALL,
            phone_on_action=phone_on_action, rights_all=RIGHTS, right_names=RIGHT_NAMES, purposes=PURPOSES,
            next_steps=_next_steps, flag_help={h.flag: h for h in texts.HELP}), status

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> tuple[str, int]:
        return item_page(item_id)

    def act(item_id: int, done: str, do: Callable[[Session, Account], str | None]) -> Any:
        acct: Account = g.account
        try:
            with store.begin() as s:
                if not review.visible(s, item_id, **scope(acct)):
                    abort(404)
                done = do(s, acct) or done
        except review.ItemError as exc:  # the core's refusal: fixed words, item numbers, dates, no message text
            return item_page(item_id, error=str(exc), status=409)
        return redirect(url_for("item", item_id=item_id, done=done) + "#top", 303)

    @app.post("/items/<int:item_id>/acknowledge")
    def acknowledge(item_id: int) -> Any:
        return act(item_id, "acknowledged",
                   lambda s, a: None if review.acknowledge(s, item_id, a.email) else "already")

    @app.post("/items/<int:item_id>/resolve")
    def resolve(item_id: int) -> Any:
        note = request.form.get("note", "")
        return act(item_id, "resolved", lambda s, a: review.resolve(s, crypto, item_id, a.email, note))

    @app.post("/items/<int:item_id>/extend")
    def extend(item_id: int) -> Any:
        right, reason = request.form.get("right", ""), request.form.get("reason", "")

        def do(s: Session, a: Account) -> None:
            review.extend(s, crypto, item_id, right, a.email, reason, rules=config.clocks)

        return act(item_id, "extended", do)

    @app.post("/items/<int:item_id>/step")
    def step(item_id: int) -> Any:
        right, name, when = request.form.get("right", ""), request.form.get("step", ""), request.form.get("at", "")

        def do(s: Session, a: Account) -> None:
            at = None
            if when.strip():
                try:
                    at = datetime.fromisoformat(when.strip()).replace(tzinfo=ZoneInfo(g.zone))
                except ValueError:
                    raise review.ItemError("the time of the step must be a date and time, e.g. 2026-11-20 14:30") \
                        from None
            review.record_request_step(s, item_id, right, name, a.email, at=at)

        return act(item_id, "step", do)

    @app.post("/items/<int:item_id>/correct")
    def correct(item_id: int) -> Any:
        f = request.form
        emergent = _yes_no(f.get("emergent", ""))
        clinical = _yes_no(f.get("clinical", ""))
        purpose = f.get("purpose", "") or None
        rights = tuple(f.getlist("rights")) if f.get("set_rights") == "1" else None

        def do(s: Session, a: Account) -> None:
            review.correct(s, crypto, item_id, a.email, emergent=emergent, rights=rights, purpose=purpose,
                           clinical_question=clinical)

        return act(item_id, "corrected", do)

    # ------------------------------------------------------------------ help and settings

    @app.get("/help")
    def help_page() -> str:
        return render_template("help.html", help=texts.HELP, when_to_call=texts.WHEN_TO_CALL,
                               crisis_line=config.department.crisis_line)

    @app.route("/settings", methods=["GET", "POST"])
    def settings() -> Any:
        acct: Account = g.account
        error = ""
        if request.method == "POST":
            zone = request.form.get("time_zone", "").strip()
            try:
                with store.begin() as s:
                    accounts.set_time_zone(s, acct.id, zone)
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                return redirect(url_for("settings", done="settings"), 303)
        return render_template("settings.html", error=error, done=texts.DONE.get(request.args.get("done", ""), ""),
                               own_zone=acct.time_zone), 400 if error else 200

    return app


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _next_steps(state: str) -> tuple[str, ...]:
    """The steps a rights request may take from its state (forward only; denial at any point)."""
    return {"open": ("forms_sent", "signed_form_received", "denied"),
            "forms_sent": ("signed_form_received", "denied"),
            "signed_form_received": ("fulfilled", "denied")}.get(state, ())


def load_secret_key(path: Path) -> bytes:
    """The key of the sign-in form's CSRF token: read, or created 0600 on first use."""
    import os

    if path.exists():
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        data = path.read_bytes().strip()
        if len(data) >= 32:
            return data
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    os.replace(tmp, path)
    return key

