"""A store for the web page tests, filled by the real pipeline (Maildir -> Ingestor -> StoreAssessor
with a keyword stand-in detector), with accounts of every role. Synthetic data only."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from argon2 import PasswordHasher
from conftest import ROOT, write_config
from sqlalchemy import select
from stand_ins import Keywords

from triage.assess import StoreAssessor
from triage.clock import set_clock
from triage.config import Config, load_config
from triage.crypto import Crypto, load_crypto
from triage.ingest import Ingestor, IngestSettings
from triage.registry import parse_csv
from triage.sources.maildir import MaildirSource
from triage.store import Store
from triage.store import consent as consent_store
from triage.store.models import AuditEvent, MessageRecord
from triage.store.org import sync_organisation
from triage.web import accounts

REGISTRY = """client_id,client_name,clinician_email,consented_email,client_email,date_of_birth,consent_basis,\
responsible_adult_name,clinician_determined,client_prefers_email,form_signed_on,revoked_on,phone,mailing_address,\
preferred_language
C-1,Pat Example,alex.morgan@dmh.example.org,client@example.com,,1990-01-01,self,,true,true,2026-01-05,,555-0101,\
1 Main St,en
C-2,Lee Example,alex.morgan@dmh.example.org,other@example.com,,1990-01-01,self,,true,false,2026-01-05,,555-0102,\
2 Main St,en
C-3,Kim Example,sam.lee@dmh.example.org,kim@example.net,,1990-01-01,self,,true,true,2026-01-05,,555-0103,\
3 Main St,en
C-4,Jo Example,robin.diaz@dmh.example.org,jo@example.org,,1990-01-01,self,,true,true,2026-01-05,,555-0104,\
4 Main St,en
"""
PHRASES = {"copy of my records": "access", "correct my record": "amendment", "only call my cell":
           "confidential_communication"}
EXTRA = """
[[programs]]
id = "child"
name = "Children's Clinic"
email_approved = true
approved_by = "Jordan Avery"
approved_on = 2026-01-15
time_zone = "America/New_York"

[[clinicians]]
email = "robin.diaz@dmh.example.org"
name = "Robin Diaz"
program = "child"

[forms]
""" + "".join(f'{right} = "{ROOT}/examples/forms/{name}-request-SAMPLE.pdf"\n' for right, name in (
    ("access", "access"), ("amendment", "amendment"), ("accounting", "accounting"), ("restriction", "restriction"),
    ("confidential_communication", "confidential-communication")))
ALEX, SAM, ROBIN = "alex.morgan@dmh.example.org", "sam.lee@dmh.example.org", "robin.diaz@dmh.example.org"
ALIAS = "amorgan@dmh.example.org"
SUPERVISOR, ADMIN = "casey.nguyen@dmh.example.org", "it.admin@dmh.example.org"
PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # Monday 09:00 in Los Angeles
SUBJECT = "Private subject"
PRIVATE = ("Pat Example", "pills tonight", SUBJECT, "copy of my records", "555-0101", "client@example.com")


def mail(n: int, *, sender: str, body: str, quoted: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Client {n} <{sender}>"
    msg["To"] = "alex.morgan@dmh.example.org"
    msg["Subject"] = f"{SUBJECT} {n}"
    msg["Message-ID"] = f"<web-{n}@example.com>"
    msg["Date"] = "Mon, 16 Nov 2026 09:00:00 -0800"
    text = body + "\n"
    if quoted:
        text += "\nOn Mon, 9 Nov 2026, Alex Morgan wrote:\n" + "".join(f"> {line}\n" for line in quoted.splitlines())
    msg.set_content(text)
    return bytes(msg)


@dataclass
class WebEnv:
    config: Config
    store: Store
    crypto: Crypto
    ids: dict[str, int]
    paths: dict[str, Path]
    files: dict[int, Path] = field(default_factory=dict)
    n: int = 0

    def deliver(self, mailbox_name: str, body: str, *, sender: str, at: datetime, quoted: str = "") -> int:
        """Deliver one message and poll its mailbox at `at`; returns its item number."""
        self.n += 1
        name = f"{int(at.timestamp())}.M{self.n}P1.test.example.org"
        path = self.paths[mailbox_name] / "new" / name
        path.write_bytes(mail(self.n, sender=sender, body=body, quoted=quoted))
        set_clock(lambda: at)
        try:
            ingestor = Ingestor(self.store, self.crypto, IngestSettings(batch_size=10),
                                assessor=StoreAssessor(self.store, self.crypto, self.config, Keywords(PHRASES)))
            result = ingestor.poll(self.ids[mailbox_name], MaildirSource(mailbox_name, self.paths[mailbox_name]),
                                   ("INBOX",))
        finally:
            set_clock(None)
        assert result.total("recorded") == 1, result
        with self.store.begin() as s:
            item = int(s.scalar(select(MessageRecord.id).order_by(MessageRecord.id.desc()).limit(1)))  # type: ignore[arg-type]
        self.files[item] = path
        return item

    def audit(self, action: str, item: int | None = None) -> list[AuditEvent]:
        with self.store.begin() as s:
            q = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            if item is not None:
                q = q.where(AuditEvent.message_record_id == item)
            return list(s.scalars(q))


@dataclass
class Items:
    access: int  # alex, consent ok: the forms go by a draft
    emergent: int  # alex, with quoted history
    amendment: int  # alex, consent failing: forms by mail
    unverified: int  # alex, a stranger
    confidential: int  # sam, same program
    child_emergent: int  # robin, another program


def build_env(tmp_path: Path, *, web: str = "secure_cookies = false") -> WebEnv:
    # Argon2id with small costs: the tests hash dozens of passwords; the format and checks are the same.
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    paths = {name: tmp_path / f"Maildir-{name}" for name in ("alex", "sam", "robin")}
    for p in paths.values():
        mailbox.Maildir(p, create=True)
    boxes = "".join(f"""
        [[mailboxes]]
        name = "{name}"
        clinician = "{who}"
        kind = "maildir"
        path = "{paths[name]}"
    """ for name, who in (("alex", ALEX), ("sam", SAM), ("robin", ROBIN)))
    extra = EXTRA + "\n[web]\n" + web + "\n"
    cfg_path = write_config(tmp_path, boxes, extra=extra)
    domains = 'domains = ["dmh.example.org"]\n'
    cfg_path.write_text(cfg_path.read_text().replace(domains, domains + 'crisis_line = "(800) 555-0199"\n', 1))
    config = load_config(cfg_path)
    store = Store(config.store.url)
    store.ensure_schema()
    crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
    with store.begin() as s:
        ids = sync_organisation(s, config)
        consent_store.save(s, crypto, parse_csv(REGISTRY))
        for email, role, program in ((ALEX, "clinician", None), (SAM, "clinician", None),
                                     (ROBIN, "clinician", None), (ALIAS, "clinician", None),
                                     (SUPERVISOR, "supervisor", "adult-op"), (ADMIN, "administrator", None)):
            accounts.add_user(s, config, email, role, password=PASSWORD, program=program, who="test")
    return WebEnv(config, store, crypto, ids, paths)


def fill(env: WebEnv) -> Items:
    h = timedelta(hours=1)
    return Items(
        access=env.deliver("alex", "please send me a copy of my records", sender="client@example.com", at=T0),
        emergent=env.deliver("alex", "i have the pills tonight and i am scared", sender="client@example.com",
                             at=T0 + 2 * h, quoted="Our next session is on Thursday."),
        amendment=env.deliver("alex", "i want you to correct my record", sender="other@example.com", at=T0 + 3 * h),
        unverified=env.deliver("alex", "can i book an appointment", sender="stranger@example.net", at=T0 + 4 * h),
        confidential=env.deliver("sam", "please only call my cell", sender="kim@example.net", at=T0 + 5 * h),
        child_emergent=env.deliver("robin", "i have the pills tonight", sender="jo@example.org", at=T0 + 6 * h),
    )
