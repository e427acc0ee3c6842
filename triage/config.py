"""Reading and validating config.toml.

Every setting is declared once (name, type, default, help) in SCHEMA; the same
declarations drive validation, the defaults and the configuration reference test.
A wrong, unknown or missing key fails at start with the key, the file, the line
and what is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.errors import ConfigError, SecretError

# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # str, int, float, bool, list[str], date, time, zone, email, choice
    default: Any = None
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


def _s(name: str, kind: str, default: Any = None, help: str = "", **kw: Any) -> Setting:
    return Setting(name, kind, default, help=help, **kw)


def _r(name: str, kind: str, help: str = "", **kw: Any) -> Setting:
    return Setting(name, kind, None, required=True, help=help, **kw)


# Each table: its settings; "[[x]]" tables are arrays of tables.
SCHEMA: dict[str, tuple[Setting, ...]] = {
    "store": (
        _s("url", "str", "sqlite:///triage.db", "SQLAlchemy URL: sqlite:///FILE or postgresql+psycopg://..."),
        _s("data_dir", "str", "data", "Folder for the encryption key, backups and retrained models."),
        _s("key_env", "str", "TRIAGE_KEY", "Environment variable that may hold the encryption key."),
        _s("key_file", "str", "", "File holding the encryption key; default DATA_DIR/triage.key, created 0600."),
        _s("quarantine_days", "int", 30, "Days a quarantined message's encrypted bytes are kept.", minimum=1),
    ),
    "worker": (
        _s("poll_interval_seconds", "int", 60, "Default seconds between polls of a mailbox.", minimum=5),
        _s("max_poll_interval_seconds", "int", 300, "Ceiling on any mailbox's poll interval.", minimum=5),
        _s("batch_size", "int", 100, "Messages fetched and committed together.", minimum=1, maximum=5000),
        _s("max_attempts", "int", 3, "Tries before a message that fails is quarantined.", minimum=1),
        _s("failure_report_minutes", "int", 30, "A mailbox failing this long is reported (once).", minimum=1),
        _s("backoff_max_seconds", "int", 900, "Longest wait before retrying a failing mailbox.", minimum=1),
        _s("uidvalidity_change_limit", "int", 3, "UIDVALIDITY changes in a day before a folder is stopped.", minimum=1),
        _s("parse_processes", "int", 0, "Processes that parse mail beside the poller (0: parse in the poller; "
           "about one per spare core helps a large first read).", minimum=0, maximum=64),
        _s("stale_poll_minutes", "int", 15, "`triage status` warns when no poll completed for this long.", minimum=1),
        _s("max_connections", "int", 100, "Mailbox connections a worker keeps open between polls; beyond it the "
           "least recently polled is closed (and opened again on its next poll).", minimum=1),
        _s("log_format", "choice", "json", "Log lines as JSON or plain text.", choices=("json", "text")),
        _s("log_level", "choice", "INFO", "Lowest level logged.", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    ),
    "department": (
        _s("name", "str", "Department", "Shown in notes and reports."),
        _s("domains", "list[str]", [], "The department's own mail domains (never a client)."),
        _s("partner_domains", "list[str]", [], "Partner organisations' domains (not clients)."),
        _s("time_zone", "zone", "America/Los_Angeles", "Default time zone for people without one."),
        _s("crisis_line", "str", "(800) 854-7771", "The county's 24/7 line shown on emergent items."),
    ),
    "actions": (
        _s("shadow_mode", "bool", False, "Pilot: assess, record and queue everything, but change no mailbox and "
           "send alerts only to alerts.shadow_address."),
        _s("keywords", "bool", True, "Set IMAP keywords ($TriageEmergent, ...) and \\Flagged on the original."),
        _s("copy_to_folders", "bool", False, "Also copy each flagged message into a folder per flag under "
           "folder_prefix (always done where the server refuses keywords, as Exchange Online does)."),
        _s("folder_prefix", "str", "Triage", "Parent of the per-flag folders, e.g. Triage/Emergent."),
        _s("drafts_folder", "str", "Drafts", "Drafts folder when the server marks none with SPECIAL-USE \\Drafts."),
        _s("notes_folder", "str", "Triage Notes", "Folder for internal notes to the clinician (never Drafts)."),
        _s("secure_subject_tag", "str", "[secure]", "Put at the start of every draft's subject so the gateway "
           "sends it by the secure method (standard 1d); empty for none."),
        _s("secure_header", "str", "", "A header 'Name: value' added to every draft for the secure gateway "
           "(standard 1d); empty for none."),
        _s("base_url", "str", "http://localhost:8080", "Address of the review pages, for links in alerts."),
        _s("interval_seconds", "int", 10, "How often the outbox of actions is worked.", minimum=1),
        _s("max_attempts", "int", 10, "Tries of an action before it is marked failed and reported.", minimum=1),
        _s("retry_max_seconds", "int", 900, "Longest wait between tries of an action.", minimum=1),
    ),
    "smtp": (
        _s("host", "str", "", "SMTP server for alerts; empty: alerts are recorded and wait for one."),
        _s("port", "int", None, "Default 465 for tls, 587 for starttls, 25 for plain.", minimum=1, maximum=65535),
        _s("security", "choice", "starttls", "tls (implicit), starttls, or plain (loopback only).",
           choices=("tls", "starttls", "plain")),
        _s("verify_tls", "bool", True, "Verify the server certificate."),
        _s("ca_file", "str", "", "Extra CA bundle (PEM) to trust."),
        _s("username", "str", "", "Login; empty for none."),
        _s("password_env", "str", "", "Environment variable holding the SMTP password."),
        _s("password_file", "str", "", "File holding the SMTP password."),
        _s("from_address", "str", "triage@localhost", "Sender of alerts and digests."),
        _s("timeout", "float", 30.0, "Seconds to wait on the server.", minimum=0.1),
    ),
    "alerts": (
        _s("ack_minutes", "int", 15, "An emergent alert not acknowledged this long is escalated to the "
           "program's supervisors.", minimum=1),
        _s("second_escalation_minutes", "int", 30, "Escalated again when still not acknowledged.", minimum=1),
        _s("admin_address", "str", "", "The IT administrator: failing mailboxes, quarantined mail."),
        _s("shadow_address", "str", "", "In shadow mode every alert goes here instead."),
    ),
    "forms": (
        _s("access", "str", "examples/forms/access-request-SAMPLE.pdf", "Approved request form: access (standard 9a)."),
        _s("amendment", "str", "examples/forms/amendment-request-SAMPLE.pdf", "Approved request form: amendment (9b)."),
        _s("accounting", "str", "examples/forms/accounting-request-SAMPLE.pdf", "Approved request form: accounting of "
           "disclosures (9c)."),
        _s("restriction", "str", "examples/forms/restriction-request-SAMPLE.pdf",
           "Approved request form: restrictions (9d)."),
        _s("confidential_communication", "str", "examples/forms/confidential-communication-request-SAMPLE.pdf",
           "Approved request form: confidential communication (9e)."),
    ),
    "clocks": (
        _s("start", "choice", "receipt", "When a rights request's clock starts: at the message's receipt, or at the "
           "receipt of the signed request form (the privacy officer's decision).", choices=("receipt", "signed_form")),
        _s("access_days", "int", 30, "Days to act on a request for access (45 CFR 164.524).", minimum=1),
        _s("amendment_days", "int", 60, "Days to act on a request for amendment (164.526).", minimum=1),
        _s("accounting_days", "int", 60, "Days to act on a request for an accounting of disclosures (164.528).",
           minimum=1),
        _s("extension_days", "int", 30, "The one extension allowed for access, amendment and accounting, recorded "
           "with a reason before the first deadline.", minimum=1),
        _s("confidential_communication_business_days", "int", 10, "Business days to accept or send the denial "
           "letter for a confidential-communication request (LACDMH 501.04).", minimum=1),
        _s("california", "bool", True, "Also keep California's clocks for access (Health & Safety Code 123110)."),
        _s("inspect_working_days", "int", 5, "California: working days to let the client inspect records.",
           minimum=1),
        _s("copies_days", "int", 15, "California: days to provide copies of records.", minimum=1),
        _s("holidays", "list[date]", [], "Days that are not business days (weekends never are), e.g. "
           "[\"2026-11-26\", \"2026-12-25\"]."),
        _s("due_soon_days", "int", 3, "A request due within this many days is 'due soon' (digests).", minimum=0),
    ),
    "web": (
        _s("host", "str", "127.0.0.1", "Address `triage serve` listens on (put a TLS proxy in front of it)."),
        _s("port", "int", 8080, "Port `triage serve` listens on.", minimum=1, maximum=65535),
        _s("threads", "int", 8, "Requests served at once.", minimum=1, maximum=64),
        _s("secure_cookies", "bool", True, "Send cookies only over HTTPS; false only when host is loopback "
           "(tests on http://localhost)."),
        _s("same_site", "choice", "Lax", "SameSite of the session cookie: Lax lets a link in an alert open the "
           "item signed in; Strict does not.", choices=("Lax", "Strict")),
        _s("session_idle_minutes", "int", 30, "A session unused this long is signed out.", minimum=1),
        _s("session_max_hours", "int", 12, "A session is signed out this long after sign-in, used or not.",
           minimum=1),
        _s("trusted_proxies", "list[str]", [], "Addresses or networks (e.g. 10.0.0.5, 10.0.0.0/24) of the "
           "single-sign-on proxy; its user header is believed only from these."),
        _s("proxy_user_header", "str", "X-Forwarded-User", "Header in which the trusted proxy names the signed-in "
           "user (an email of a `triage user`)."),
        _s("secret_key_file", "str", "", "Key for the sign-in form's CSRF token; default DATA_DIR/web.key, "
           "created 0600."),
    ),
    "digests": (
        _s("enabled", "bool", True, "Mail each program's supervisors a digest of its items on the schedule."),
        _s("schedule", "str", "mon-fri 07:30", "When digests are sent, in each program's time zone: DAYS HH:MM "
           "(mon-fri 07:30, mon 08:00, 07:30 for every day) or five cron fields (minute hour day month "
           "weekday; weekday 0 or 7 is Sunday)."),
        _s("period", "choice", "day", "What a digest covers: day (the days since the previous scheduled digest, "
           "so Monday's covers the weekend) or week (the seven days before it).", choices=("day", "week")),
        _s("extra_recipients", "list[str]", [], "Addresses that also receive every program's digest."),
    ),
    "[[programs]]": (
        _r("id", "str", "Short name used by clinicians and mailboxes."),
        _r("name", "str", "Program name."),
        _s("mailing_address", "str", "", "Where signed request forms are delivered (letters and drafts say so)."),
        _s("phone", "str", "", "The program's telephone, for letters."),
        _s("email_approved", "bool", False, "Standard 1a: the program manager approved client email."),
        _s("approved_by", "str", "", "Who approved (program manager or higher); needed when approved."),
        _s("approved_on", "date", None, "When it was approved (YYYY-MM-DD); needed when approved."),
        _s("time_zone", "zone", None, "Program time zone; default department.time_zone."),
        _s("supervisors", "list[str]", [], "Supervisors' addresses (receive digests and escalations)."),
        _s("digest_schedule", "str", "", "This program's digest schedule; default digests.schedule."),
        _s("digest_period", "str", "", "This program's digest period, day or week; default digests.period."),
    ),
    "[[programs.on_call]]": (
        _r("address", "email", "Address paged for emergent mail (may be an SMS or pager gateway)."),
        _s("days", "str", "mon-sun", "Days this cover applies: e.g. mon-fri, sat,sun, mon-sun."),
        _s("start", "time", None, "Start time HH:MM (program time zone); omit for all day."),
        _s("end", "time", None, "End time HH:MM; may be before start for overnight cover."),
    ),
    "[[clinicians]]": (
        _r("email", "email", "The clinician's primary address."),
        _r("name", "str", "Display name."),
        _r("program", "str", "A programs.id."),
        _s("aliases", "list[str]", [], "Other addresses that reach the same clinician."),
        _s("time_zone", "zone", None, "Default: the program's."),
    ),
    "[servers.*]": (
        _r("host", "str", "IMAP host name."),
        _s("port", "int", None, "Default 993 for tls, 143 for starttls and plain.", minimum=1, maximum=65535),
        _s("security", "choice", "tls", "tls (implicit), starttls, or plain (loopback only).",
           choices=("tls", "starttls", "plain")),
        _s("verify_tls", "bool", True, "Verify the server certificate (turn off only for a test server)."),
        _s("ca_file", "str", "", "Extra CA bundle (PEM) to trust."),
        _s("auth", "choice", "password", "password (per mailbox login), master (Dovecot user*master), "
           "or xoauth2 (token from a command).", choices=("password", "master", "xoauth2")),
        _s("username", "str", "", "The master user's name (auth = master)."),
        _s("password_env", "str", "", "Environment variable holding the server-wide password."),
        _s("password_file", "str", "", "File holding the server-wide password."),
        _s("oauth2_token_command", "str", "", "Command that prints an access token (auth = xoauth2)."),
        _s("connect_timeout", "float", 15.0, "Seconds to connect and log in.", minimum=0.1),
        _s("read_timeout", "float", 60.0, "Seconds to wait on any read.", minimum=0.1),
    ),
    "[[mailboxes]]": (
        _r("name", "str", "Unique name of this mailbox in triage."),
        _r("clinician", "email", "The clinicians.email who owns it."),
        _r("kind", "choice", "imap or maildir.", choices=("imap", "maildir")),
        _s("path", "str", "", "Maildir folder (kind = maildir), relative to the config file."),
        _s("server", "str", "", "A servers.NAME (kind = imap)."),
        _s("user", "str", "", "IMAP login (the mailbox's address for master and xoauth2)."),
        _s("password_env", "str", "", "Environment variable holding this mailbox's password."),
        _s("password_file", "str", "", "File holding this mailbox's password."),
        _s("folders", "list[str]", ["INBOX"], "Folders to watch, e.g. [\"INBOX\", \"Junk\"]."),
        _s("poll_interval_seconds", "int", None, "Default worker.poll_interval_seconds.", minimum=5),
        _s("enabled", "bool", True, "Set false to stop watching without removing it."),
    ),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class StoreConfig:
    url: str
    data_dir: Path
    key_env: str
    key_file: Path
    quarantine_days: int


@dataclass(frozen=True)
class WorkerConfig:
    poll_interval_seconds: int
    max_poll_interval_seconds: int
    batch_size: int
    max_attempts: int
    failure_report_minutes: int
    backoff_max_seconds: int
    uidvalidity_change_limit: int
    parse_processes: int
    stale_poll_minutes: int
    max_connections: int
    log_format: str
    log_level: str


@dataclass(frozen=True)
class DepartmentConfig:
    name: str
    domains: tuple[str, ...]
    partner_domains: tuple[str, ...]
    time_zone: str
    crisis_line: str


@dataclass(frozen=True)
class OnCall:
    address: str
    days: frozenset[int]  # 0 = Monday
    start: time | None
    end: time | None


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    email_approved: bool
    approved_by: str
    approved_on: date | None
    time_zone: str
    supervisors: tuple[str, ...]
    on_call: tuple[OnCall, ...]
    mailing_address: str = ""
    phone: str = ""
    digest_schedule: DigestSchedule | None = None  # None: digests.schedule
    digest_period: str = ""  # "": digests.period


@dataclass(frozen=True)
class DigestSchedule:
    """When digests are sent: the fields of APScheduler's CronTrigger, read in a program's time zone."""

    text: str
    minute: str
    hour: str
    day: str = "*"
    month: str = "*"
    day_of_week: str = "*"  # APScheduler's names (mon..sun), never crontab numbers

    def fields(self) -> dict[str, str]:
        return {"minute": self.minute, "hour": self.hour, "day": self.day, "month": self.month,
                "day_of_week": self.day_of_week}


@dataclass(frozen=True)
class DigestsConfig:
    enabled: bool = True
    schedule: DigestSchedule = field(default_factory=lambda: parse_schedule("mon-fri 07:30"))
    period: str = "day"
    extra_recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionsConfig:
    shadow_mode: bool = False
    keywords: bool = True
    copy_to_folders: bool = False
    folder_prefix: str = "Triage"
    drafts_folder: str = "Drafts"
    notes_folder: str = "Triage Notes"
    secure_subject_tag: str = "[secure]"
    secure_header: str = ""
    base_url: str = "http://localhost:8080"
    interval_seconds: int = 10
    max_attempts: int = 10
    retry_max_seconds: int = 900


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    verify_tls: bool = True
    ca_file: str = ""
    username: str = ""
    password_env: str = ""
    password_file: str = ""
    from_address: str = "triage@localhost"
    timeout: float = 30.0


@dataclass(frozen=True)
class WebConfig:
    """The review pages (triage.web)."""

    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    secure_cookies: bool = True
    same_site: str = "Lax"
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks, validated
    proxy_user_header: str = "X-Forwarded-User"
    secret_key_file: Path | None = None  # None: DATA_DIR/web.key


@dataclass(frozen=True)
class AlertsConfig:
    ack_minutes: int = 15
    second_escalation_minutes: int = 30
    admin_address: str = ""
    shadow_address: str = ""


@dataclass(frozen=True)
class ClocksConfig:
    """The legal clocks of HIPAA rights requests (triage.clocks computes with them)."""

    start: str = "receipt"  # receipt | signed_form
    access_days: int = 30
    amendment_days: int = 60
    accounting_days: int = 60
    extension_days: int = 30
    confidential_communication_business_days: int = 10
    california: bool = True
    inspect_working_days: int = 5
    copies_days: int = 15
    holidays: tuple[date, ...] = ()
    due_soon_days: int = 3


@dataclass(frozen=True)
class Clinician:
    email: str
    name: str
    program: str
    aliases: tuple[str, ...]
    time_zone: str

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.email, *self.aliases)


@dataclass(frozen=True)
class ServerConfig:
    name: str
    host: str
    port: int
    security: str
    verify_tls: bool
    ca_file: str
    auth: str
    username: str
    password_env: str
    password_file: str
    oauth2_token_command: str
    connect_timeout: float
    read_timeout: float


@dataclass(frozen=True)
class MailboxConfig:
    name: str
    clinician: str
    kind: str
    path: str
    server: str
    user: str
    password_env: str
    password_file: str
    folders: tuple[str, ...]
    poll_interval_seconds: int
    enabled: bool


@dataclass(frozen=True)
class Config:
    path: Path | None
    store: StoreConfig
    worker: WorkerConfig
    department: DepartmentConfig
    programs: tuple[Program, ...]
    clinicians: tuple[Clinician, ...]
    servers: dict[str, ServerConfig]
    mailboxes: tuple[MailboxConfig, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    actions: ActionsConfig = field(default_factory=ActionsConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    forms: dict[str, Path] = field(default_factory=dict)  # right -> approved request form
    clocks: ClocksConfig = field(default_factory=ClocksConfig)
    web: WebConfig = field(default_factory=WebConfig)
    digests: DigestsConfig = field(default_factory=DigestsConfig)

    def program(self, program_id: str) -> Program:
        return next(p for p in self.programs if p.id == program_id)

    def clinician(self, email: str) -> Clinician:
        return next(c for c in self.clinicians if c.email == email.lower())

    def mailbox(self, name: str) -> MailboxConfig:
        return next(m for m in self.mailboxes if m.name == name)


# --------------------------------------------------------------------------- locating keys


class _Locator:
    """Maps a key path such as ("mailboxes", 2, "folders") to its line in the file.

    tomllib keeps no positions, so this walks the text: table headers, array-of-
    tables counters and `key =` lines. Good enough to point a person at a line.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    _KEY = re.compile(r"""^\s*("[^"]+"|'[^']+'|[A-Za-z0-9_.-]+)\s*=""")

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        counters: dict[tuple[Any, ...], int] = {}
        current: tuple[Any, ...] = ()
        in_multiline = False
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                    in_multiline = False
                continue
            header = self._HEADER.match(line)
            if header:
                parts = tuple(p.strip().strip("\"'") for p in header.group(2).split("."))
                if header.group(1) == "[[":
                    # [[programs.on_call]] belongs to the latest [[programs]].
                    resolved: list[Any] = []
                    for i, part in enumerate(parts):
                        resolved.append(part)
                        prefix = tuple(resolved)
                        if i < len(parts) - 1 and prefix in counters:
                            resolved.append(counters[prefix])
                    prefix = tuple(resolved)
                    counters[prefix] = counters.get(prefix, -1) + 1
                    current = (*prefix, counters[prefix])
                else:
                    current = parts
                self.lines.setdefault(current, number)
                continue
            key = self._KEY.match(line)
            if key:
                name = key.group(1).strip("\"'")
                self.lines.setdefault((*current, *name.split(".")), number)
                rest = line.split("=", 1)[1]
                if rest.count('"""') == 1 or rest.count("'''") == 1:
                    in_multiline = True

    def line(self, path: tuple[Any, ...]) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.locator = _Locator(text)

    def fail(self, path: tuple[Any, ...], problem: str) -> ConfigError:
        line = self.locator.line(path)
        where = f"{self.source}, line {line}" if line else self.source
        return ConfigError(f"{where}: `{_dotted(path)}` {problem}")

    def table(self, data: Any, path: tuple[Any, ...], schema_key: str) -> dict[str, Any]:
        """Validate one table against SCHEMA[schema_key]; return settings with defaults."""
        if not isinstance(data, dict):
            raise self.fail(path, "must be a table")
        settings = {s.name: s for s in SCHEMA[schema_key]}
        nested = {k.split(".")[-1].rstrip("]") for k in SCHEMA if k.startswith(schema_key.rstrip("]") + ".")}
        for key in data:
            if key not in settings and key not in nested:
                allowed = ", ".join(sorted([*settings, *nested]))
                raise self.fail((*path, key), f"is not a known setting; allowed here: {allowed}")
        out: dict[str, Any] = {}
        for setting in settings.values():
            if setting.name in data:
                out[setting.name] = self.value(data[setting.name], (*path, setting.name), setting)
            elif setting.required:
                raise self.fail(path, f"is missing the required key `{setting.name}` ({setting.help})")
            else:
                out[setting.name] = setting.default
        return out

    def value(self, value: Any, path: tuple[Any, ...], s: Setting) -> Any:
        kind = s.kind

        def bad(expected: str) -> ConfigError:
            return self.fail(path, f"is {value!r}; expected {expected}")

        if kind in ("str", "email", "zone", "choice"):
            if not isinstance(value, str):
                raise bad("a string")
            if kind == "email" and not _EMAIL.match(value.strip()):
                raise bad("an email address such as someone@example.org")
            if kind == "email":
                return value.strip().lower()
            if kind == "zone":
                try:
                    ZoneInfo(value)
                except (ZoneInfoNotFoundError, ValueError):
                    raise bad("an IANA time zone such as America/Los_Angeles") from None
            if kind == "choice" and value not in s.choices:
                raise bad("one of " + ", ".join(s.choices))
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise bad("true or false")
            return value
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad("a number")
            if kind == "int" and not isinstance(value, int):
                raise bad("a whole number")
            if s.minimum is not None and value < s.minimum:
                raise bad(f"at least {s.minimum:g}")
            if s.maximum is not None and value > s.maximum:
                raise bad(f"at most {s.maximum:g}")
            return float(value) if kind == "float" else value
        if kind == "list[date]":
            if not isinstance(value, list):
                raise bad("a list of dates such as [\"2026-11-26\"]")
            days = []
            for v in value:
                try:
                    days.append(v if isinstance(v, date) else date.fromisoformat(str(v)))
                except ValueError:
                    raise self.fail(path, f"holds {v!r}; expected dates YYYY-MM-DD") from None
            return days
        if kind == "list[str]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad("a list of strings")
            return list(value)
        if kind == "date":
            if isinstance(value, date):
                return value
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                raise bad("a date YYYY-MM-DD") from None
        if kind == "time":
            if isinstance(value, time):
                return value
            try:
                return time.fromisoformat(str(value))
            except ValueError:
                raise bad("a time HH:MM") from None
        raise AssertionError(kind)


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _parse_days(text: str, reader: _Reader, path: tuple[Any, ...]) -> frozenset[int]:
    days: set[int] = set()
    for chunk in text.lower().replace(" ", "").split(","):
        if "-" in chunk:
            a, _, b = chunk.partition("-")
            if a not in _DAYS or b not in _DAYS:
                raise reader.fail(path, f"is {text!r}; expected days like mon-fri or sat,sun")
            i, j = _DAYS.index(a), _DAYS.index(b)
            days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif chunk in _DAYS:
            days.add(_DAYS.index(chunk))
        else:
            raise reader.fail(path, f"is {text!r}; expected days like mon-fri or sat,sun")
    return frozenset(days)


def parse_schedule(text: str) -> DigestSchedule:
    """A digest schedule: "DAYS HH:MM" (mon-fri 07:30, sat,sun 09:00; HH:MM alone is every day) or five
    cron fields "minute hour day month weekday" where weekday 0 or 7 is Sunday, as in crontab. Raises
    ValueError saying what is wrong."""
    parts = text.split()
    if len(parts) in (1, 2):
        days = _schedule_days(parts[0]) if len(parts) == 2 else None
        hh, sep, mm = parts[-1].partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60 and len(mm) == 2):
            raise ValueError(f"{parts[-1]!r} is not a time HH:MM")
        return DigestSchedule(text, str(int(mm)), str(int(hh)),
                              day_of_week=",".join(_DAYS[d] for d in sorted(days)) if days else "*")
    if len(parts) != 5:
        raise ValueError("expected DAYS HH:MM such as mon-fri 07:30, or five cron fields such as 30 7 * * 1-5")
    minute, hour, day, month, weekday = parts
    days = _cron_weekdays(weekday)
    schedule = DigestSchedule(text, minute, hour, day, month,
                              "*" if len(days) == 7 else ",".join(_DAYS[d] for d in sorted(days)))
    from apscheduler.triggers.cron import CronTrigger  # only to check the fields as the worker will read them

    try:
        CronTrigger(**schedule.fields(), timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"not a valid cron line: {exc}") from None
    return schedule


def _schedule_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for chunk in text.lower().split(","):
        a, dash, b = chunk.partition("-")
        if a not in _DAYS or (dash and b not in _DAYS):
            raise ValueError(f"{text!r} is not days such as mon-fri, sat,sun or mon-sun")
        i, j = _DAYS.index(a), _DAYS.index(b) if dash else _DAYS.index(a)
        days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
    return frozenset(days)


def _cron_weekdays(field_text: str) -> frozenset[int]:
    """A crontab weekday field (numbers 0-7, 0 and 7 Sunday, or names; ranges and steps) as Monday-based days."""
    names = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

    def number(token: str, *, end: bool = False) -> int:
        t = token.lower()
        if t in names:
            return 7 if end and t == "sun" else names.index(t)  # "mon-sun" runs to the week's end
        if t.isdigit() and int(t) <= 7:
            return int(t)
        raise ValueError(f"weekday {token!r} is not 0-7 or sun..sat")

    days: set[int] = set()
    for chunk in field_text.split(","):
        rng, slash, step_text = chunk.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"weekday step {step_text!r} is not a positive number")
        step = int(step_text) if slash else 1
        if rng == "*":
            first, last = 0, 6
        else:
            a, dash, b = rng.partition("-")
            first = number(a)
            last = number(b, end=True) if dash else (6 if slash else first)
            if last < first:
                raise ValueError(f"weekday range {rng!r} runs backwards")
        days.update((n - 1) % 7 for n in range(first, last + 1, step))  # crontab Sunday 0 -> Monday-based 6
    return frozenset(days)


def _schedule(text: str, reader: _Reader, path: tuple[Any, ...]) -> DigestSchedule:
    try:
        return parse_schedule(text)
    except ValueError as exc:
        raise reader.fail(path, f"is {text!r}: {exc}") from None


def _digest_period(value: str, reader: _Reader, path: tuple[Any, ...]) -> str:
    if value not in ("", "day", "week"):
        raise reader.fail((*path, "digest_period"), f"is {value!r}; expected day or week")
    return value


def _digests(value: Any, reader: _Reader) -> DigestsConfig:
    d = reader.table(value, ("digests",), "digests")
    for a in d["extra_recipients"]:
        if not _EMAIL.match(a.strip()):
            raise reader.fail(("digests", "extra_recipients"), f"holds {a!r}; expected email addresses")
    return DigestsConfig(d["enabled"], _schedule(d["schedule"], reader, ("digests", "schedule")), d["period"],
                         tuple(a.strip().lower() for a in d["extra_recipients"]))


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses: the only hosts plain IMAP may use."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError naming the key and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file (give one with --config)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return parse_config(text, source=str(path), base_dir=path.resolve().parent)


def parse_config(text: str, *, source: str = "config.toml", base_dir: Path | None = None) -> Config:
    """Validate config text; paths in it are relative to base_dir."""
    base = base_dir or Path.cwd()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    reader = _Reader(text, source)
    known = {"store", "worker", "department", "programs", "clinicians", "servers", "mailboxes", "actions", "smtp",
             "alerts", "forms", "clocks", "web", "digests"}
    for key in data:
        if key not in known:
            raise reader.fail((key,), f"is not a known section; allowed: {', '.join(sorted(known))}")

    st = reader.table(data.get("store", {}), ("store",), "store")
    data_dir = _resolve(base, st["data_dir"])
    store = StoreConfig(
        url=_resolve_sqlite(base, st["url"]),
        data_dir=data_dir,
        key_env=st["key_env"],
        key_file=_resolve(base, st["key_file"]) if st["key_file"] else data_dir / "triage.key",
        quarantine_days=st["quarantine_days"],
    )
    wk = reader.table(data.get("worker", {}), ("worker",), "worker")
    if wk["poll_interval_seconds"] > wk["max_poll_interval_seconds"]:
        raise reader.fail(("worker", "poll_interval_seconds"),
                          f"is {wk['poll_interval_seconds']}; it may not exceed "
                          f"worker.max_poll_interval_seconds ({wk['max_poll_interval_seconds']})")
    worker = WorkerConfig(**wk)
    dp = reader.table(data.get("department", {}), ("department",), "department")
    department = DepartmentConfig(
        name=dp["name"],
        domains=tuple(d.lower().lstrip("@") for d in dp["domains"]),
        partner_domains=tuple(d.lower().lstrip("@") for d in dp["partner_domains"]),
        time_zone=dp["time_zone"],
        crisis_line=dp["crisis_line"],
    )

    programs = _programs(data.get("programs", []), reader, department.time_zone)
    clinicians = _clinicians(data.get("clinicians", []), reader, {p.id: p for p in programs})
    servers = _servers(data.get("servers", {}), reader)
    mailboxes = _mailboxes(data.get("mailboxes", []), reader, base, worker, servers,
                           {c.email for c in clinicians})
    actions = ActionsConfig(**reader.table(data.get("actions", {}), ("actions",), "actions"))
    if actions.secure_header and ":" not in actions.secure_header:
        raise reader.fail(("actions", "secure_header"), "must be 'Name: value'")
    if not actions.secure_subject_tag.strip() and not actions.secure_header:
        raise reader.fail(("actions", "secure_subject_tag"), "is empty and so is secure_header: drafts need one "
                          "of them so the gateway sends them by the secure method (standard 1d)")
    if actions.shadow_mode and not data.get("alerts", {}).get("shadow_address"):
        raise reader.fail(("actions", "shadow_mode"), "is true, so alerts.shadow_address is required")
    sm = reader.table(data.get("smtp", {}), ("smtp",), "smtp")
    if sm["port"] is None:
        sm["port"] = {"tls": 465, "starttls": 587, "plain": 25}[sm["security"]]
    if sm["host"] and sm["security"] == "plain" and not is_loopback(sm["host"]):
        raise reader.fail(("smtp", "security"),
                          f"is plain but host {sm['host']!r} is not loopback; use tls or starttls")
    smtp = SmtpConfig(**sm)
    alerts = AlertsConfig(**reader.table(data.get("alerts", {}), ("alerts",), "alerts"))
    if alerts.second_escalation_minutes <= alerts.ack_minutes:
        raise reader.fail(("alerts", "second_escalation_minutes"),
                          f"is {alerts.second_escalation_minutes}; it must be later than ack_minutes "
                          f"({alerts.ack_minutes})")
    fm = reader.table(data.get("forms", {}), ("forms",), "forms")
    forms = {right: _resolve(base, path) for right, path in fm.items() if path}
    ck = reader.table(data.get("clocks", {}), ("clocks",), "clocks")
    clocks = ClocksConfig(**{**ck, "holidays": tuple(sorted(set(ck["holidays"])))})
    digests = _digests(data.get("digests", {}), reader)
    web = _web(data.get("web", {}), reader, base, data_dir)
    return Config(source and Path(source), store, worker, department, programs, clinicians,
                  servers, mailboxes, raw=data, actions=actions, smtp=smtp, alerts=alerts, forms=forms,
                  clocks=clocks, web=web, digests=digests)


def _web(value: Any, reader: _Reader, base: Path, data_dir: Path) -> WebConfig:
    w = reader.table(value, ("web",), "web")
    if not w["secure_cookies"] and not is_loopback(w["host"]):
        raise reader.fail(("web", "secure_cookies"), f"is false but host {w['host']!r} is not loopback; cookies "
                          "without Secure are only for tests on http://localhost")
    for proxy in w["trusted_proxies"]:
        try:
            ipaddress.ip_network(proxy.strip(), strict=False)
        except ValueError:
            raise reader.fail(("web", "trusted_proxies"), f"holds {proxy!r}; expected IP addresses or networks "
                              "such as 10.0.0.5 or 10.0.0.0/24") from None
    if w["trusted_proxies"] and not re.fullmatch(r"[A-Za-z0-9-]+", w["proxy_user_header"]):
        raise reader.fail(("web", "proxy_user_header"), "must be a header name such as X-Forwarded-User")
    return WebConfig(**{**w, "trusted_proxies": tuple(p.strip() for p in w["trusted_proxies"]),
                        "secret_key_file": _resolve(base, w["secret_key_file"]) if w["secret_key_file"]
                        else data_dir / "web.key"})


def _array(value: Any, reader: _Reader, path: tuple[Any, ...]) -> list[Any]:
    if not isinstance(value, list):
        raise reader.fail(path, f"must be an array of tables ([[{_dotted(path)}]])")
    return value


def _unique(items: list[str], reader: _Reader, path: tuple[Any, ...], what: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item in seen:
            raise reader.fail((*path, i), f"repeats the {what} {item!r}; each must be unique")
        seen.add(item)


def _programs(value: Any, reader: _Reader, default_zone: str) -> tuple[Program, ...]:
    out = []
    for i, item in enumerate(_array(value, reader, ("programs",))):
        path = ("programs", i)
        p = reader.table(item, path, "[[programs]]")
        if p["email_approved"] and (not p["approved_by"] or p["approved_on"] is None):
            raise reader.fail((*path, "email_approved"),
                              "is true, so approved_by and approved_on (standard 1a) are required")
        on_call = []
        for j, oc in enumerate(_array(item.get("on_call", []), reader, (*path, "on_call"))):
            ocp = (*path, "on_call", j)
            o = reader.table(oc, ocp, "[[programs.on_call]]")
            if (o["start"] is None) != (o["end"] is None):
                raise reader.fail(ocp, "needs both start and end, or neither")
            on_call.append(OnCall(o["address"], _parse_days(o["days"], reader, (*ocp, "days")),
                                  o["start"], o["end"]))
        for k, sup in enumerate(p["supervisors"]):
            if not _EMAIL.match(sup):
                raise reader.fail((*path, "supervisors"), f"item {k} is {sup!r}; expected an email address")
        out.append(Program(p["id"], p["name"], p["email_approved"], p["approved_by"], p["approved_on"],
                           p["time_zone"] or default_zone, tuple(s.lower() for s in p["supervisors"]),
                           tuple(on_call), p["mailing_address"], p["phone"],
                           digest_schedule=_schedule(p["digest_schedule"], reader, (*path, "digest_schedule"))
                           if p["digest_schedule"] else None,
                           digest_period=_digest_period(p["digest_period"], reader, path)))
    _unique([p.id for p in out], reader, ("programs",), "program id")
    return tuple(out)


def _clinicians(value: Any, reader: _Reader, programs: dict[str, Program]) -> tuple[Clinician, ...]:
    out = []
    for i, item in enumerate(_array(value, reader, ("clinicians",))):
        path = ("clinicians", i)
        c = reader.table(item, path, "[[clinicians]]")
        if c["program"] not in programs:
            raise reader.fail((*path, "program"),
                              f"is {c['program']!r}; expected one of the programs: {', '.join(programs) or '(none)'}")
        for a in c["aliases"]:
            if not _EMAIL.match(a):
                raise reader.fail((*path, "aliases"), f"holds {a!r}; expected email addresses")
        zone = c["time_zone"] or programs[c["program"]].time_zone
        out.append(Clinician(c["email"], c["name"], c["program"],
                             tuple(a.strip().lower() for a in c["aliases"]), zone))
    _unique([a for c in out for a in c.addresses], reader, ("clinicians",), "address")
    return tuple(out)


def _servers(value: Any, reader: _Reader) -> dict[str, ServerConfig]:
    if not isinstance(value, dict):
        raise reader.fail(("servers",), "must be tables such as [servers.office]")
    out = {}
    for name, item in value.items():
        path = ("servers", name)
        s = reader.table(item, path, "[servers.*]")
        if s["security"] == "plain" and not is_loopback(s["host"]):
            raise reader.fail((*path, "security"),
                              f"is plain but host {s['host']!r} is not loopback; use tls or starttls")
        if s["auth"] == "xoauth2" and not s["oauth2_token_command"]:
            raise reader.fail((*path, "oauth2_token_command"), "is required when auth = xoauth2")
        if s["auth"] == "master" and not s["username"]:
            raise reader.fail((*path, "username"), "is required when auth = master (the master user's name)")
        if s["auth"] == "master" and not (s["password_env"] or s["password_file"]):
            raise reader.fail(path, "needs password_env or password_file for the master user")
        port = s["port"] or (993 if s["security"] == "tls" else 143)
        out[name] = ServerConfig(name=name, **{**s, "port": port})
    return out


def _mailboxes(value: Any, reader: _Reader, base: Path, worker: WorkerConfig,
               servers: dict[str, ServerConfig], clinicians: set[str]) -> tuple[MailboxConfig, ...]:
    out = []
    for i, item in enumerate(_array(value, reader, ("mailboxes",))):
        path = ("mailboxes", i)
        m = reader.table(item, path, "[[mailboxes]]")
        if m["clinician"] not in clinicians:
            raise reader.fail((*path, "clinician"), f"is {m['clinician']!r}; expected a clinicians.email")
        if m["kind"] == "maildir":
            if not m["path"]:
                raise reader.fail(path, "is a maildir mailbox and needs `path`")
            m["path"] = str(_resolve(base, m["path"]))
        else:
            if m["server"] not in servers:
                raise reader.fail((*path, "server"),
                                  f"is {m['server']!r}; expected one of the [servers.*]: "
                                  f"{', '.join(servers) or '(none)'}")
            if not m["user"]:
                raise reader.fail(path, "is an imap mailbox and needs `user`")
            if servers[m["server"]].auth == "password" and not (
                    m["password_env"] or m["password_file"] or servers[m["server"]].password_env
                    or servers[m["server"]].password_file):
                raise reader.fail(path, "needs password_env or password_file (passwords are never inline)")
        if not m["folders"]:
            raise reader.fail((*path, "folders"), "is empty; list at least one folder, e.g. [\"INBOX\"]")
        interval = m["poll_interval_seconds"] or worker.poll_interval_seconds
        if interval > worker.max_poll_interval_seconds:
            raise reader.fail((*path, "poll_interval_seconds"),
                              f"is {interval}; at most worker.max_poll_interval_seconds "
                              f"({worker.max_poll_interval_seconds}) so emergent mail is seen in time")
        m["poll_interval_seconds"] = interval
        m["folders"] = tuple(m["folders"])
        out.append(MailboxConfig(**m))
    _unique([m.name for m in out], reader, ("mailboxes",), "mailbox name")
    return tuple(out)


def _resolve(base: Path, value: str) -> Path:
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else base / p


def _resolve_sqlite(base: Path, url: str) -> str:
    """Make a relative SQLite path relative to the config file, not the cwd."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix):])
    return url


# --------------------------------------------------------------------------- secrets


def read_secret(env: str, file: str, *, what: str,
                environ: dict[str, str] | None = None, base: Path | None = None) -> str:
    """A password from an environment variable or a file; never from the config text."""
    environ = dict(os.environ) if environ is None else environ
    if env:
        if env not in environ or not environ[env]:
            raise SecretError(f"{what}: environment variable {env} is not set")
        return environ[env]
    if file:
        p = _resolve(base or Path.cwd(), file)
        try:
            return p.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"{what}: cannot read password file {p}: {exc.strerror}") from None
    raise SecretError(f"{what}: no password_env or password_file is configured")




def iter_settings() -> list[tuple[str, Setting]]:
    """Every (table, setting) pair, for the configuration reference and its test."""
    return [(table, s) for table, settings in SCHEMA.items() for s in settings]


def reference_markdown() -> str:
    """The configuration reference as Markdown tables (kept in README.md; a test compares)."""
    out = []
    for table, settings in SCHEMA.items():
        out.append(f"**`{table}`**\n")
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for s in settings:
            default = "required" if s.required else ("" if s.default in (None, "", []) else
                                                     f"`{json.dumps(s.default)}`")
            kind = s.kind if s.kind != "choice" else " \\| ".join(s.choices)
            out.append(f"| `{s.name}` | {kind} | {default} | {s.help.replace('|', '/')} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # `python -m triage.config` prints the reference for README.md
    print(reference_markdown())
