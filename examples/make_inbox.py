"""Writes examples/inbox/, the sample Maildir that config.toml reads as shipped.

Fifty synthetic messages to Alex Morgan (Adult Outpatient) of every kind triage
must handle: emergent mail, HIPAA privacy-rights requests, consent problems,
several clients on one message, the purposes of standards 7-8, hard negatives,
automated mail, colleagues, the partner clinic and odd MIME. Every person,
address and phone number is invented (example.com / example.net, 555-01xx).

The script also writes examples/expected.json (the expected-results key) and the
table in examples/README.md between its marker lines, and checks every message
against examples/registry.csv, so the inbox, the key and the registry agree.
Deterministic: run it again and the same bytes come out.

Run: python3 examples/make_inbox.py
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
INBOX = HERE / "inbox"
REGISTRY = HERE / "registry.csv"
EXPECTED = HERE / "expected.json"
README = HERE / "README.md"
TABLE_START = "<!-- expected-table:start (written by make_inbox.py) -->"
TABLE_END = "<!-- expected-table:end -->"

try:
    from zoneinfo import ZoneInfo

    LA: timezone | ZoneInfo = ZoneInfo("America/Los_Angeles")
except Exception:  # no tz database: every sample date is after 1 November, so PST
    LA = timezone(timedelta(hours=-8), "PST")

ALEX_ADDR = "alex.morgan@dmh.example.org"
ALEX = f"Alex Morgan <{ALEX_ADDR}>"
ALEX_ALIAS = "Alex Morgan <amorgan@dmh.example.org>"
READ_BEFORE = datetime(2026, 11, 14, tzinfo=LA)  # older mail is in cur/, newer in new/

SIGNATURE = """Alex Morgan, LCSW
Adult Outpatient Program | County Department of Mental Health
Office: (213) 555-0142
County 24/7 Help Line: (800) 854-7771
If this is an emergency call 911 or 988.

CONFIDENTIALITY NOTICE: This message and any attachments may contain protected
health information. If you are not the intended recipient, please delete it and
notify the sender."""

IPHONE = "\n\nSent from my iPhone"


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LA)


def quote(text: str, depth: int = 1) -> str:
    mark = ">" * depth
    return "\n".join(f"{mark} {line}" if line else mark for line in text.split("\n"))


def gmail_quote(when: str, text: str, who: str = ALEX, signature: bool = True) -> str:
    """A Gmail-style quoted earlier message (Alex's, with her signature, by default)."""
    body = text + ("\n\n--\n" + SIGNATURE if signature else "")
    return f"\n\nOn {when} {who} wrote:\n" + quote(body)


def iphone_quote(when: str, text: str) -> str:
    return f"\n\n> On {when}, {ALEX} wrote:\n>\n" + quote(text + "\n\n" + SIGNATURE)


def outlook_quote(sent: str, to: str, subject: str, text: str) -> str:
    return ("\n\n________________________________\n"
            f"From: Alex Morgan <{ALEX_ADDR}>\nSent: {sent}\nTo: {to}\nSubject: {subject}\n\n"
            + text + "\n\n" + SIGNATURE)


@dataclass
class Expect:
    kind: str
    description: str
    clients: list[str] = field(default_factory=list)
    emergent: bool = False
    rights: list[str] = field(default_factory=list)
    purpose: str = "other"
    clinical: bool = False
    consent: str = "ok"
    failures: list[str] = field(default_factory=list)
    multiple: bool = False
    automated: bool = False
    language: str = "en"
    odd: list[str] = field(default_factory=list)
    standards: list[str] = field(default_factory=list)


@dataclass
class Mail:
    when: datetime
    raw: bytes
    expect: Expect
    flags: str = "S"  # Maildir flags when the message is in cur/
    msg: EmailMessage | None = None  # serialised by finish(), after its boundaries are fixed


MAILS: list[Mail] = []


def msgid(seed: str, domain: str) -> str:
    return f"<{hashlib.sha1(seed.encode()).hexdigest()[:20]}@{domain}>"


def fix_boundaries(msg: EmailMessage, seed: str, root: bool = True) -> None:
    """Fixed MIME boundaries, so the output is the same on every run; no MIME-Version in body parts."""
    if not root:
        del msg["MIME-Version"]
    if msg.get_content_maintype() == "multipart":
        msg.set_boundary(f"----=_Part_{hashlib.sha1(seed.encode()).hexdigest()[:24]}")
    if msg.get_content_type() == "message/rfc822":
        fix_boundaries(msg.get_payload(0), f"{seed}/0", root=True)  # a whole message: its own MIME-Version
    elif msg.is_multipart():
        for i, part in enumerate(msg.iter_parts()):
            fix_boundaries(part, f"{seed}/{i}", root=False)


def new_message(when: datetime, sender: str, subject: str, *, to: str = ALEX, cc: str = "",
                mailer: str = "", reply_to: str = "", headers: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    domain = sender.rsplit("@", 1)[-1].rstrip(">")
    msg["Message-ID"] = msgid(f"{when.isoformat()}|{sender}|{subject}", f"mail.{domain}")
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    msg["MIME-Version"] = "1.0"
    if mailer:
        msg["X-Mailer"] = mailer
    for name, value in (headers or {}).items():
        msg[name] = value
    return msg


def html_of(text: str) -> str:
    paras = "".join(f"<div>{line or '<br>'}</div>" for line in
                    text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split("\n"))
    return f'<div dir="ltr">{paras}</div>\n'


def add(when: datetime, sender: str, subject: str, body: str, expect: Expect, *, flags: str = "S",
        alternative: bool = False, **kw: str) -> EmailMessage:
    """A person's message: text/plain, or text/plain + text/html like webmail sends."""
    msg = new_message(when, sender, subject, **kw)
    msg.set_content(body)
    if alternative:
        msg.add_alternative(html_of(body), subtype="html")
    MAILS.append(Mail(when, b"", expect, flags, msg))
    return msg


def add_raw(when: datetime, raw: bytes, expect: Expect, flags: str = "S") -> None:
    MAILS.append(Mail(when, raw, expect, flags))


def reply_id(n: int) -> str:
    return msgid(f"alex-sent-{n}", "mail.dmh.example.org")


# Registry client ids used below.
KEVIN, MARISOL, THEO, RAY, FELICITY, ROY, JAS, BRI, HAROLD, LORRAINE, DESMOND, GUS, WENDY, NADIA, KELSEY, \
    VICTOR, NATE, KAYLA, OWEN, MATEO, CAMILA = (f"A-{1000 + i}" for i in range(1, 22))

PERSON = {
    KEVIN: "Kevin Tran <kevin.tran@example.com>",
    MARISOL: "Marisol Quintero <marisol.quintero@example.net>",
    THEO: "Theo Lindqvist <theo.lindqvist@example.com>",
    GUS: "Gus Ferreira <gusferreira@example.net>",
    WENDY: "Wendy Albright <wendy.albright@example.com>",
    ROY: "Roy Tillman <roy.tillman@example.net>",
    JAS: "Jasmine Ortega <jas.ortega@example.com>",
    BRI: "Brianna Hale <brianna.hale@example.com>",
    HAROLD: "Harold Pemberton <hpemberton@example.net>",
    NADIA: "Nadia Farouk <nadia.farouk@example.com>",
    KELSEY: "Kelsey Dunmore <kelsey.dunmore@example.com>",
    VICTOR: "Victor Almeida <victor.almeida@example.net>",
    NATE: "Nate Bramwell <nate.bramwell@example.com>",
    KAYLA: "Kayla Brandt <kayla.brandt@example.net>",
    LORRAINE: "Lorraine Kibbe <lorraine.kibbe@example.com>",
    DESMOND: "Desmond Pryor <desmond.pryor@example.net>",
    FELICITY: "Felicity Crane <felicity.crane@example.com>",
    RAY: "Ray Delgado <ray.delgado@example.net>",
}
TERESA = "Teresa Castellano <teresa.castellano@example.com>"  # Owen's mother, on his form
OWEN_OWN = "Owen Castellano <owen.castellano11@example.net>"  # Owen's own address, not on the form
LETICIA = "Leticia Navarro <leticia.navarro@example.net>"     # Mateo's and Camila's mother, on both forms
NATE_WORK = "Nate Bramwell <nbramwell.work@example.net>"      # Nate's work address, not on his form
IPHONE_MAILER = "iPhone Mail (22B91)"


def build() -> None:
    """Every message, in delivery order."""
    # ------------------------------------------------------------------ Mon 2 Nov
    news = new_message(at(2, 7, 2), "Wellness Digest <digest@news.wellness-digest.example.org>",
                       "November: sleep, sunlight and surviving the holidays",
                       headers={"List-Id": "Wellness Digest <digest.news.wellness-digest.example.org>",
                                "List-Unsubscribe": "<https://news.wellness-digest.example.org/u/7f3a91>, "
                                                    "<mailto:leave-7f3a91@news.wellness-digest.example.org>",
                                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                                "Precedence": "bulk"})
    news_text = ("WELLNESS DIGEST - November 2026\n\n"
                 "1. Five small habits for better sleep as the days get shorter\n"
                 "2. Why 10 minutes of morning light helps your mood\n"
                 "3. Holiday stress: setting limits with family, kindly\n\n"
                 "November is a hard month for many people. If you or someone you know is in crisis, "
                 "call or text 988, any time.\n\n"
                 "You are receiving this because you subscribed at a community wellness fair.\n"
                 "Unsubscribe: https://news.wellness-digest.example.org/u/7f3a91")
    news.set_content(news_text)
    news.add_alternative(html_of(news_text), subtype="html")
    _keep(news, Expect("automated", "Newsletter (List-Id, List-Unsubscribe, Precedence: bulk); mentions 988",
                       consent="not_applicable", automated=True), "S")

    add(at(2, 8, 41), PERSON[VICTOR], "Re: next appointment",
        "Thursday at 2 works. I'll be there\n\nVictor" + IPHONE + iphone_quote(
            "Oct 30, 2026, at 4:12 PM",
            "Hi Victor,\n\nI have Thursday, November 5 at 2:00 PM or Friday the 6th at 9:00 AM open. Let me know "
            "which works better for you.\n\nAlex"),
        Expect("scheduling", "Confirms an appointment; quoted reply with Alex's signature (help line, 911/988)",
               [VICTOR], purpose="scheduling", standards=["7a"]),
        flags="RS", mailer=IPHONE_MAILER, reply_to=reply_id(1))

    add(at(2, 9, 15), "Casey Nguyen <casey.nguyen@dmh.example.org>", "supervision thurs",
        "Hi Alex - can we push supervision to 3:00 on Thursday? I got pulled into the QA meeting at 2.\n\n"
        "Also a reminder that the Q4 chart audit is due the 20th. Holler if you need me to cover anything "
        "while you're at the training.\n\nThanks!\nCasey\n\n"
        "Casey Nguyen, LMFT\nClinical Supervisor, Adult Outpatient\nCounty Department of Mental Health",
        Expect("department", "Colleague (supervisor) at dmh.example.org: never a client", consent="not_applicable"))

    add(at(2, 11, 3), PERSON[BRI], "kind of a weird question",
        "Hi Alex,\n\nThis might be a weird question but can I see what you wrote about me? Like the notes from "
        "our sessions. I've been thinking about it since last week and I'm curious what it all looks like from "
        "the outside, if that makes sense. Is that something I'm allowed to have a copy of?\n\nThanks,\nBri",
        Expect("hipaa_rights", "Right of access, indirect phrasing (\"can I see what you wrote about me?\")",
               [BRI], rights=["access"], standards=["9a", "10"]),
        flags="RS", alternative=True)

    jpg = add(at(2, 16, 50), PERSON[HAROLD], "new pills",
              "Alex,\n\nThe pharmacy gave me the new pills on Saturday but I spilled my coffee on the bag and the "
              "label is a mess. I can make out the name but not the directions. Please remind me how many of the "
              "new pills I am supposed to take, was it one at bedtime or two? You went over it with me on "
              "Thursday and I wrote it down but now I can't find the paper.\n\nI took a picture of the bottle, "
              "it's attached.\n\nThank you,\nHarold Pemberton",
              Expect("treatment_instructions", "Reminder of treatment instructions (\"how many of the new pills\"); "
                     "JPEG attachment; sent to the alias amorgan@", [HAROLD], purpose="treatment_instructions",
                     odd=["attachment_jpeg", "alias"], standards=["7c"]),
              flags="RS", to=ALEX_ALIAS)
    jpg.add_attachment(FAKE_JPEG, maintype="image", subtype="jpeg", filename="IMG_4471.jpg")

    add(at(2, 21, 34), PERSON[KEVIN], "random thought",
        "so this is kind of random but i was cleaning out my closet tonight and found my old journals from high "
        "school. i used to cut years ago, like pretty bad junior and senior year, and reading that stuff was "
        "weird. but honestly it mostly made me realize how far i've come. doing ok now, no urges or anything, "
        "just wanted to tell someone who'd get it.\n\nanyway. see you thursday :)",
        Expect("hard_negative", "Calm past history (\"i used to cut years ago, doing ok now\"): not emergent",
               [KEVIN]))

    # ------------------------------------------------------------------ Tue 3 Nov
    add(at(3, 8, 10), PERSON[NADIA], "who has my information?",
        "Hello Alex,\n\nI received a letter from my insurance company last week that mentioned my \"behavioral "
        "health services\" and it made me very uncomfortable, because I never told them anything about it.\n\n"
        "Who have you sent my information to? I would like a list of everyone my records or information have "
        "been shared with over the last couple of years - insurance, the county, anyone.\n\n"
        "Thank you,\nNadia Farouk",
        Expect("hipaa_rights", "Right to an accounting of disclosures (\"who have you sent my information to\")",
               [NADIA], rights=["accounting"], standards=["9c", "10"]),
        flags="RS", alternative=True)

    add(at(3, 10, 20), PERSON[KELSEY], "please don't share w/ insurance",
        "hey Alex! so I decided I'm going to pay out of pocket for my sessions from now on (long story, I'm "
        "still on my dad's insurance til I'm 26 and he sees all the statements). Can you please not send "
        "anything about my treatment to the insurance?\n\nAnd if my mom calls the clinic again please don't "
        "tell her anything, she did that last year and it was a whole thing.\n\nthx\nKelsey",
        Expect("hipaa_rights", "Right to request restrictions (not to the health plan, not to her mother)",
               [KELSEY], rights=["restriction"], standards=["9d", "10"]),
        flags="RS")

    add(at(3, 14, 2), NATE_WORK, "thurs",
        "Hey Alex it's Nate, writing from my work email bc my phone died. Any chance we can push Thursday to "
        "4:30? I'm stuck on a job site in Ontario until 3.\n\n"
        "Nate Bramwell | Site Supervisor\nDesert Ridge Builders\n(909) 555-0133",
        Expect("consent_problem", "Known client writing from his work address, not the address on his consent "
               "form (registry client_email)", [NATE], purpose="scheduling", consent="failing", failures=["4"],
               standards=["4", "6", "7a"]),
        mailer="Microsoft Outlook 16.0")

    add(at(3, 19, 33), PERSON[GUS], "Re: checking in",
        "hey. thanks for checking. honestly not great. i don't want to wake up tomorrow, i haven't wanted to "
        "for like a week now. i'm not going to do anything, i don't have a plan or whatever, i just lie there at "
        "night hoping i don't wake up. work is whatever. i went to my sisters sunday and sat in the car for an "
        "hour before i went in.\n\nsorry this is a downer\n\n-g"
        + gmail_quote("Tue, Nov 3, 2026 at 11:02 AM",
                      "Hi Gus,\n\nI missed you at group yesterday and wanted to check in. How are you doing?\n\n"
                      "Alex"),
        Expect("emergent", "Passive current suicidal ideation (\"i don't want to wake up tomorrow\"), reply "
               "chain quoting Alex's signature", [GUS], emergent=True, standards=["6"]),
        flags="RS", alternative=True, reply_to=reply_id(2))

    # ------------------------------------------------------------------ Wed 4 Nov
    add_raw(at(4, 8, 5), bounce(at(4, 8, 5)),
              Expect("automated", "Bounce (multipart/report, delivery-status) from MAILER-DAEMON for Alex's "
                     "message to an old partner-clinic address", consent="not_applicable", automated=True,
                     odd=["multipart_report"]), "S")

    add(at(4, 9, 30), PERSON[VICTOR], "the meds",
        "Alex I've been on the 50 of sertraline for 6 weeks now and I dont feel any different, maybe a little "
        "more tired. Should I go up to 100? My brother in law takes 100 and he says it kicked in for him right "
        "away. Or should I just switch to something else? I don't see Dr. Okafor until December." + IPHONE,
        Expect("clinical_question", "Asks for a medication change (dose increase or switch)", [VICTOR],
               purpose="clinical_question", clinical=True, standards=["8"]),
        flags="RS", mailer=IPHONE_MAILER)

    add_raw(at(4, 12, 12), latin1_rights(at(4, 12, 12)),
              Expect("hipaa_rights", "Spanish, iso-8859-1 (8bit) with RFC 2047 subject: confidential "
                     "communication (call only her cell, no letters to the house); sent to the alias",
                     [MARISOL], rights=["confidential_communication"], language="es",
                     odd=["iso-8859-1", "rfc2047_subject", "alias"], standards=["9e", "10"]), "RS")

    add(at(4, 15, 44), PERSON[HAROLD], "error in my chart",
        "Alex,\n\nWhen I was at the clinic last week the nurse read back my history and it says I have a "
        "\"history of alcohol abuse.\" That is wrong. I have never had a problem with alcohol, I have a glass "
        "of wine at Christmas and that's it. I think it came over from the hospital after my fall in March, "
        "they had me mixed up with another patient.\n\nI want that corrected in my record. How do I go about "
        "that?\n\nHarold Pemberton",
        Expect("hipaa_rights", "Right to request amendment (wrong history in the chart); to the alias",
               [HAROLD], rights=["amendment"], odd=["alias"], standards=["9b", "10"]),
        to=ALEX_ALIAS)

    # ------------------------------------------------------------------ Thu 5 Nov
    add(at(5, 7, 48), PERSON[WENDY], "the group you mentioned",
        "Good morning Alex,\n\nWhat was the name of the group for widows you told me about, the one that meets "
        "at the library? I wrote down Tuesdays but not the time or the name, and I'd like to look it up. And "
        "was the free app for the sleep stories called Calm Harbor or something like that?\n\n"
        "Thank you dear,\nWendy",
        Expect("information", "Clarifying factual information already discussed in session (group name, app)",
               [WENDY], purpose="information", standards=["7d"]),
        flags="RS")

    add(at(5, 10, 2), OWEN_OWN, "friday?",
        "hey its owen. can i come in friday instead of thursday? i have a game thursday and coach says if i "
        "miss it i dont play saturday. my mom said to just email you\n\nsent from my phone",
        Expect("consent_problem", "Minor (born 2011) whose consent runs through his mother writes from his own "
               "address", [OWEN], purpose="scheduling", consent="failing", failures=["3", "4"],
               standards=["3", "4", "6", "7a"]))

    add(at(5, 11, 40), TERESA, "RE: Owen - next appointment",
        "Hi Alex,\n\nThe school counselor asked if we could share Owen's evaluation for his 504 meeting next "
        "month. Before anything goes to them I'd like to see his records myself. Can I get a copy of Owen's "
        "file, including the assessment from September? What do I need to do?\n\nThanks,\nTeresa Castellano\n"
        "(Owen's mom)" + outlook_quote(
            "Tuesday, November 3, 2026 4:40 PM", "Teresa Castellano <teresa.castellano@example.com>",
            "Owen - next appointment",
            "Hi Teresa,\n\nJust confirming Owen's next appointment on Thursday, November 12 at 3:30 PM. Please "
            "let me know if that time no longer works.\n\nAlex"),
        Expect("hipaa_rights", "Parent (responsible adult on the form) asks for access to her minor son's "
               "records, replying on an old appointment thread (Outlook quote with Alex's signature)", [OWEN],
               rights=["access"], standards=["3", "9a", "10"]),
        flags="RS", mailer="Microsoft Outlook 16.0", reply_to=reply_id(6))

    add(at(5, 13, 15), PERSON[KELSEY], "NEWS!!!",
        "ALEX. I'm dying to tell you - I GOT THE JOB!! the one at the vet clinic!!! they called this morning. I "
        "start the 30th. I literally screamed in the car lol\n\nthe onboarding paperwork is killing me though, "
        "like 40 pages, I swear they want my blood type. anyway just wanted you to know bc you helped me prep "
        "for the interview \U0001f979\n\nk" + IPHONE,
        Expect("hard_negative", "Idioms (\"I'm dying to tell you\", \"the paperwork is killing me\"): not "
               "emergent", [KELSEY]),
        mailer=IPHONE_MAILER)

    add(at(5, 17, 5), "June Harlow <intake@partner-clinic.example.net>", "Referral follow-up - R.T.",
        "Hi Alex,\n\nFollowing up on the referral for R.T. we received on 10/28 for a psychiatric evaluation. We "
        "haven't gotten the signed release back yet, so we can't schedule him. Could you have him sign it when "
        "he's in next and fax it to (626) 555-0177?\n\nPlease use this address from now on, Jim Fenwick retired "
        "last month.\n\nThanks,\nJune Harlow\nIntake Coordinator, Eastside Partner Clinic",
        Expect("partner", "Partner clinic (partner-clinic.example.net): not a client", consent="not_applicable"),
        mailer="Microsoft Outlook 16.0")

    add(at(5, 20, 26), PERSON[ROY], "pharmacy AGAIN",
        "I am so done with the pharmacy on 3rd. Third time this month they \"lost\" my refill and the lady at the "
        "counter acted like I was the problem. I wanted to throw my phone across the store. I didnt, I walked "
        "out and sat in the truck and did the breathing thing like we practiced. Still pissed.\n\n"
        "Just needed to tell somebody who wont tell me to calm down.\n\nRoy",
        Expect("hard_negative", "Anger without a threat (venting about the pharmacy)", [ROY]))

    # ------------------------------------------------------------------ Fri 6 Nov
    add(at(6, 9, 12), PERSON[BRI], "switching groups?",
        "Hi Alex!\n\nNadia and I were talking after Tuesday group and we both have a hard time making 5:30 "
        "because of work. Is there room for both of us in the Wednesday 6:30 group instead? We could carpool. "
        "I cc'd her so you don't have to email us separately :)\n\nBri",
        Expect("multiple_clients", "Client cc's another client (both in the registry) about moving groups",
               [BRI, NADIA], purpose="scheduling", multiple=True, standards=["5", "7a"]),
        flags="RS", alternative=True, cc=PERSON[NADIA])

    add(at(6, 12, 30), PERSON[LORRAINE], "Monday",
        "Hi Alex, I know I told you to take me off email after the thing with my son reading my messages, but "
        "it's still the fastest way to reach you. Is my appointment still Monday the 9th at 10? The reminder "
        "card got thrown out.\n\nLorraine",
        Expect("consent_problem", "Client whose consent was revoked (2026-10-21) asks about her appointment",
               [LORRAINE], purpose="reminder", consent="failing", failures=["revoked"],
               standards=["1e", "6", "7b"]))

    pdf = add(at(6, 16, 40), PERSON[KAYLA], "what is this form",
              "hi alex so my school counselor ms ortiz gave me this form and said i should sign it so she can talk "
              "to you. what is a release form exactly?? like what does it let her see. i attached it. i dont want "
              "to sign something if i dont know what it is lol\n\nkayla",
              Expect("hard_negative", "Asks what a release (authorization) form is: information, not a HIPAA "
                     "rights request; minor (born 2010) under her own consent; PDF attachment", [KAYLA],
                     purpose="information", odd=["attachment_pdf"], standards=["2", "7d"]),
              flags="RS")
    pdf.add_attachment(FAKE_PDF, maintype="application", subtype="pdf", filename="Release_of_Information.pdf")

    # ------------------------------------------------------------------ Sat 7 Nov
    add(at(7, 10, 14), PERSON[KELSEY], "thursday group time",
        "Hi Alex (and everyone!)\n\nA few of us were talking after group last week and 5:30 is really hard with "
        "work and traffic. Would it be possible to move Thursday group to 6:00? I put everyone who said they "
        "were interested on here so we can all figure it out together. Kevin, Victor, Gus - chime in if I got "
        "anything wrong!\n\nKelsey",
        Expect("multiple_clients", "\"Group\" message addressed to Alex and three other clients", [KELSEY, KEVIN,
               VICTOR, GUS], purpose="scheduling", multiple=True, standards=["5", "7a"]),
        to=f"{ALEX}, {PERSON[KEVIN]}, {PERSON[VICTOR]}, {PERSON[GUS]}", alternative=True)

    add(at(7, 14, 48), LETICIA, "¡Buenas noticias de Camila!",
        "Hola Alex,\n\n¡Me muero de ganas de contarle! Camila leyó su poema en la asamblea de la escuela delante "
        "de todos, ella que antes no quería ni hablar en clase. Casi me muero de la emoción cuando la vi.\n\n"
        "Gracias por todo lo que ha trabajado con ella. Nos vemos el martes.\n\nLeticia",
        Expect("hard_negative", "Spanish idioms (\"me muero de ganas\", \"casi me muero de la emoción\"): not "
               "emergent; mother writes about one of her two children (shared consented address)", [CAMILA],
               language="es", standards=["3"]))

    # ------------------------------------------------------------------ Mon 9 Nov
    add(at(9, 8, 20), PERSON[HAROLD], "Automatic reply: Appointment on Thursday",
        "Thank you for your email. I am away visiting family in Tucson until Monday, November 16, and am "
        "checking email only now and then.\n\nHarold Pemberton",
        Expect("automated", "Out-of-office auto-reply from a client's address (Auto-Submitted: auto-replied)",
               [HAROLD], consent="not_applicable", automated=True),
        reply_to=reply_id(3), headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"})

    add_raw(at(9, 9, 45), (
        f"From: Nate Bramwell <nate.bramwell@example.com>\nTo: {ALEX}\nSubject: appt tmrw?\n"
        f"Date: {format_datetime(at(9, 9, 45))}\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n"
        "Hey, is my appt tomorrow at 9:30 or 10:30? I wrote both on my calendar somehow lol\n\nthx\nNate\n\n"
        "Sent from my Galaxy\n").encode(),
        Expect("reminder", "Appointment reminder question from the consented address; no Message-ID header",
               [NATE], purpose="reminder", odd=["no_message_id"], standards=["7b"]), "RS")

    add(at(9, 11, 11), PERSON[DESMOND], "first appointment",
        "Hello Ms. Morgan,\n\nI dropped off my intake packet at the front desk on Friday and the receptionist "
        "said you would be my therapist. Could we set up my first appointment for next Tuesday or Wednesday "
        "afternoon? I get off work at 2.\n\nRespectfully,\nDesmond Pryor",
        Expect("consent_problem", "Client who never signed the Consent to Email form (form_signed_on empty)",
               [DESMOND], purpose="scheduling", consent="failing", failures=["1e"], standards=["1e", "6", "7a"]))

    add(at(9, 14, 30), PERSON[VICTOR], "phone",
        "Alex one more thing from tuesday. Please only call my cell from now on (626) 555-0127, not the house "
        "phone. And don't mail anything to the house, my brother has been going through my mail and I don't "
        "want him knowing my business. If you need to give me something I can pick it up at the front desk."
        + IPHONE,
        Expect("hipaa_rights", "Confidential communication (\"only call my cell, don't mail the house\")",
               [VICTOR], rights=["confidential_communication"], standards=["9e", "10"]),
        flags="RS", mailer=IPHONE_MAILER)

    # ------------------------------------------------------------------ Tue 10 Nov
    add(at(10, 10, 25), PERSON[JAS], "question",
        "Hey Alex\n\nok so this is gonna be long, sorry. I've been reading alot about ADHD in women since my cousin "
        "got diagnosed (she's 31!!) and like every single thing on the list is me. Losing my keys constantly, "
        "starting 5 projects and finishing none of them, zoning out when people are literally talking to me. I "
        "was always the \"chatty\" kid in school and every report card said \"doesn't apply herself\". My mom "
        "used to say I had ants in my pants lol. At work I have like 40 tabs open and I forget what I opened "
        "half of them for.\n\nI brought it up with my sister and she said everyone feels like that now because "
        "of phones, and mabye that's true? But it's been my whole life, not just since phones.\n\nSo I guess my "
        "question is do you think I have ADHD? Is that something you can diagnose or would I need testing "
        "somewhere? And if I do have it would meds help more than the therapy stuff we're doing, like should I "
        "be asking for adderall or something?\n\nsorry for the essay\nJas",
        Expect("clinical_question", "Asks for a diagnosis and treatment advice", [JAS],
               purpose="clinical_question", clinical=True, standards=["8"]),
        flags="RS", alternative=True)

    add(at(10, 13, 0), PERSON[FELICITY], "Reminder?",
        "Hi Alex, what time was my appointment on the 17th? I have it in my phone as 1:00 but the card says "
        "11:00. Thanks! Felicity",
        Expect("consent_problem", "Clinician has not determined email is appropriate (clinician_determined "
               "false)", [FELICITY], purpose="reminder", consent="failing", failures=["1b"],
               standards=["1b", "6", "7b"]))

    add(at(10, 18, 5), PERSON[GUS], "Re: checking in",
        "hey, just wanted to say the last week has been a lot better. the sleep thing is helping and i went "
        "back to group thursday. thanks for calling me that morning, it helped more than i said on the phone.\n\n"
        "g" + gmail_quote(
            "Wed, Nov 4, 2026 at 8:02 AM",
            "Gus, thank you for telling me this. I'm going to call you this morning around 9:30 so we can talk. "
            "If anything changes before then, please call the Help Line or 988.\n\nAlex\n\n--\n" + SIGNATURE
            + "\n\nOn Tue, Nov 3, 2026 at 7:33 PM Gus Ferreira <gusferreira@example.net> wrote:\n"
            + quote("hey. thanks for checking. honestly not great. i don't want to wake up tomorrow, i haven't "
                    "wanted to for like a week now. i'm not going to do anything, i don't have a plan or "
                    "whatever, i just lie there at night hoping i don't wake up."),
            signature=False),
        Expect("hard_negative", "Feeling better; the earlier ideation appears only in the quoted chain: not "
               "emergent", [GUS]),
        flags="RS", alternative=True, reply_to=reply_id(4))

    # ------------------------------------------------------------------ Wed 11 Nov
    add(at(11, 10, 40), PERSON[RAY], "thursday",
        "got your voicemail. thursday at 3 is fine. i know i said call me not email but my phone's been acting "
        "up.\n\nRay",
        Expect("consent_problem", "Client who did not choose email as preferred method (client_prefers_email "
               "false)", [RAY], purpose="scheduling", consent="failing", failures=["1c"],
               standards=["1c", "6", "7a"]),
        flags="")

    add(at(11, 15, 20), PERSON[BRI], "that movie",
        "Ok so I finally watched the movie you mentioned, the one about the two sisters? I cried SO much. The "
        "part where the older sister tries to kill herself and the little one finds her, and then the whole "
        "second half in the hospital... it hit close to home but in a good way? Definately recommend it. Like it made "
        "me want to call "
        "my sister. Which I did! We talked for 2 hours.\n\nAnyway, can't wait to talk about it Tuesday.\n\nBri",
        Expect("hard_negative", "Talks about a film's plot (a suicide attempt in the story): not emergent", [BRI]),
        flags="", alternative=True)

    # ------------------------------------------------------------------ Thu 12 Nov
    add(at(12, 9, 5), PERSON[THEO], "next week \u2708\ufe0f",
        "hey alex, can we move next tuesday to wednesday morning? i fly out for my cousins wedding in cabo on "
        "thursday. also is it ok if i skip the lamotrigine while i'm down there? it makes me kind of nauseous "
        "and i don't want to be sick at the wedding. it's only 5 days\n\nthanks!!\ntheo",
        Expect("clinical_question", "Scheduling message with a medication question hidden inside it; RFC 2047 "
               "(UTF-8, emoji) subject", [THEO], purpose="scheduling", clinical=True,
               odd=["rfc2047_subject"], standards=["7a", "8"]))

    add(at(12, 13, 30), PERSON[KEVIN], "records for my lawyer + a mistake",
        "Hi Alex,\n\nMy disability lawyer says she needs copies of my treatment records from the clinic for my "
        "SSDI appeal. Can I get a full copy of my records from January 2025 until now?\n\nAlso, when I was "
        "looking at the after-visit summary from intake it says my date of birth is 03/22/1986. It's 1988. And "
        "it says I live with my boyfriend, which I haven't since last spring. Can those be fixed in my record "
        "before anything gets sent anywhere?\n\nThanks,\nKevin",
        Expect("hipaa_rights", "Two rights in one message: access (copy of records) and amendment (wrong DOB and "
               "household)", [KEVIN], rights=["access", "amendment"], standards=["9a", "9b", "10"]),
        flags="RS", alternative=True)

    add(at(12, 16, 0), PERSON[ROY], "probation",
        "Alex did you guys talk to my PO? She brought up stuff at my check in that I only ever said in session. "
        "I want to know what you sent her and when, and who else has gotten my stuff. I signed something for "
        "her back in the spring but I didnt think it meant everything.",
        Expect("hipaa_rights", "Accounting of disclosures, indirect phrasing (what was sent to his probation "
               "officer, who else got it)", [ROY], rights=["accounting"], standards=["9c", "10"]),
        flags="RS")

    # ------------------------------------------------------------------ Fri 13 Nov
    add(at(13, 11, 15), "Chris Ambler <chris.ambler87@example.com>", "appointment",
        "Hi,\n\nMy name is Chris, I was at the walk-in clinic on Monday and the lady at the front gave me your "
        "email. I'm supposed to get set up for counseling. What days do you have open? I work nights so "
        "mornings are best.\n\nThanks\nChris",
        Expect("consent_problem", "Unknown sender: nobody in the registry", purpose="scheduling",
               consent="unknown", standards=["1e", "4", "6", "7a"]),
        flags="")

    add(at(13, 23, 52), PERSON[ROY], "tonight",
        "he showed up at my moms house again tonight after the judge told him to stay away. i'm done alex. i "
        "know where he parks his truck at night and i've got the bat in mine. if i see him tomorrow i'm going "
        "to hurt him bad, i mean it this time. i'm not calling anybody, the cops dont do anything. just so "
        "somebody knows" + IPHONE,
        Expect("emergent", "Threat to harm another person (plan, means, time)", [ROY], emergent=True,
               standards=["6"]),
        mailer=IPHONE_MAILER)

    # ------------------------------------------------------------------ Sat 14 Nov (unread from here on)
    add(at(14, 22, 10), PERSON[JAS], "please",
        "hes hitting me again right now. im locked in the bathroom typing this bc i cant call, he'll hear me. "
        "he took my keys and says im not leaving tonight. the baby is asleep in the other room. please help i "
        "dont know what to do" + IPHONE,
        Expect("emergent", "Domestic abuse happening now, a baby in the home", [JAS], emergent=True,
               standards=["6"]),
        mailer=IPHONE_MAILER)

    # ------------------------------------------------------------------ Mon 16 Nov
    html = new_message(at(16, 8, 47), PERSON[KELSEY], "running late!!")
    html.set_content('<div dir="ltr">running like <b>10 min</b> late, parking is a nightmare today \U0001f62d so '
                     "sorry!! can we still do the full hour or should i just take the 9:15?"
                     "<div><br></div><div>k</div></div>\n", subtype="html")
    _keep(html, Expect("scheduling", "HTML-only message (no text/plain part): running late, keep the full hour?",
                       [KELSEY],
                       purpose="scheduling", odd=["html_only"], standards=["7a"]), "")

    add(at(16, 9, 20), PERSON[HAROLD], "a question",
        "Alex,\n\nI am back from Tucson. My daughter read an article about something called EMDR and thinks I "
        "should ask you about doing that instead of the talking therapy. She also thinks I should stop the "
        "mirtazapine because I've put on 12 pounds since summer.\n\nWhat do you think, should I switch to EMDR "
        "and come off the pills? I don't want to do anything without asking you first.\n\n"
        "Regards,\nHarold Pemberton",
        Expect("clinical_question", "Asks for treatment advice (EMDR) and a medication change (stopping)",
               [HAROLD], purpose="clinical_question", clinical=True, standards=["8"]),
        to=ALEX_ALIAS)

    add(at(16, 13, 45), LETICIA, "Citas de Mateo y Camila",
        "Hola Alex, buenas tardes.\n\n¿Sería posible cambiar las citas de Mateo y Camila de esta semana? El "
        "jueves tengo que trabajar doble turno. ¿Podrían ser el viernes después de la escuela, los dos "
        "seguidos? A Mateo le gustaría la primera si se puede.\n\nGracias,\nLeticia Navarro",
        Expect("multiple_clients", "Spanish: mother (shared consented address) reschedules both children in one "
               "message", [MATEO, CAMILA], purpose="scheduling", multiple=True, language="es",
               standards=["3", "5", "7a"]),
        alternative=True)

    _keep(forwarded(at(16, 17, 30)),
          Expect("reminder", "Forwarded message/rfc822 (the department's automated reminder) with a question "
                 "about which day the appointment is; the outer message is from a person", [VICTOR],
                 purpose="reminder", odd=["forwarded_rfc822"], standards=["7b"]), "")

    # ------------------------------------------------------------------ Tue 17 Nov
    add(at(17, 0, 41), PERSON[KEVIN], "sorry",
        "alex im sorry. i cant keep doing this. the SSDI got denied again today and bryce came and took the "
        "rest of his stuff and i just cant anymore. i have the pills saved up from my last 3 refills in my "
        "nightstand and i'm going to take all of them tonight when i get home. i already wrote letters for my "
        "mom and my sister. im not telling you so you'll stop me, i just didn't want you to hear it from "
        "someone else. thank you for trying with me.",
        Expect("emergent", "Explicit suicidal intent with a plan, means and time", [KEVIN], emergent=True,
               standards=["6"]))

    add(at(17, 16, 12), PERSON[BRI], "got them!",
        "Hi Alex, thanks for sending the copy of my records, they came in the mail yesterday. It was weird "
        "reading about myself but kind of cool to see how much has changed since intake. See you Tuesday!\n\nBri",
        Expect("hard_negative", "\"Thanks for sending the copy of my records\": no new rights request", [BRI]),
        alternative=True)

    # ------------------------------------------------------------------ Wed 18 Nov
    add(at(18, 19, 55), PERSON[WENDY], "Thank you",
        "Dear Alex,\n\nI wanted to write and thank you for everything. You have been so kind to me this year, "
        "kinder than I deserved, and you listened when nobody else did after Frank passed.\n\nI found a good "
        "home for Pickles with Mrs. Aoki next door, she has always loved him. I've left the papers for the house "
        "and the bank in the blue folder on the dining table for my nephew.\n\nYou won't need to see me next "
        "week, so please give my Tuesday spot to someone who needs it.\n\nTake care of yourself, dear.\nWendy",
        Expect("emergent", "Warning signs with a sense of ending (giving the cat away, affairs in order, "
               "\"you won't need to see me next week\", thanks for everything)", [WENDY], emergent=True,
               standards=["6"]))

    add(at(18, 21, 20), LETICIA, "URGENTE Mateo",
        "Alex perdone que le escriba tan tarde, I called the clinic number and nobody answered. Mateo se encerró "
        "en el baño y se está cortando los brazos ahora mismo, I can see blood under the door y no me quiere "
        "abrir. Dice que lo dejemos en paz. ¿Qué hago? Please help\n\nEnviado desde mi iPhone",
        Expect("emergent", "Mixed Spanish/English: mother writes that her son (a minor client) is cutting right "
               "now", [MATEO], emergent=True, language="es", standards=["3", "6"]),
        mailer=IPHONE_MAILER)

    # ------------------------------------------------------------------ Thu 19 Nov
    add(at(19, 2, 10), PERSON[THEO], "i messed up",
        "alex i took the whole bottle of my lamotrigine like 20 min ago and a bunch of my roommates xanax. i "
        "thought i wanted to but now i'm scared. my heart is going really fast and everything is spinning. i "
        "don't know why i'm emailing you i'm sorry",
        Expect("emergent", "Overdose happening now (\"took the whole bottle\")", [THEO], emergent=True,
               standards=["6"]))

    add(at(19, 23, 5), PERSON[MARISOL], "perdóneme",
        "Alex, ya no puedo más. Desde que se fue mi hija no tengo para qué seguir. Tengo guardadas las pastillas "
        "de todo el mes y esta noche me las voy a tomar todas. Ya dejé una carta para mis nietos.\n\nPerdóneme, "
        "usted siempre fue buena conmigo. Dígale a mi hermana que la quiero.",
        Expect("emergent", "Spanish: explicit suicidal intent with a plan (a month of pills tonight), to the "
               "alias", [MARISOL], emergent=True, language="es", odd=["alias"], standards=["6"]),
        to=ALEX_ALIAS)


# ---------------------------------------------------------------------- odd and raw messages

FAKE_JPEG = (bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + bytes(range(1, 65))
             + b"sample photo of a pill bottle label, not a real image" + bytes.fromhex("ffd9"))
FAKE_PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"% Sample release of information form. Synthetic, not a real document.\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def _keep(msg: EmailMessage, expect: Expect, flags: str) -> None:
    when = datetime.strptime(str(msg["Date"]), "%a, %d %b %Y %H:%M:%S %z")
    MAILS.append(Mail(when, b"", expect, flags, msg))


def latin1_rights(when: datetime) -> bytes:
    subject = Header("Petición: no manden cartas a mi casa", "iso-8859-1").encode()
    body = ("Buenas tardes Alex,\n\n"
            "Le escribo para pedirle un favor. Por favor ya no me manden cartas de la clínica a mi casa, mi yerno "
            "abre el correo y no quiero que sepa que voy a terapia. Si necesitan algo llámenme solamente a mi "
            "celular, el 323-555-0119. No dejen mensajes en el teléfono de la casa.\n\n"
            "Muchas gracias por todo.\nMarisol Quintero\n")
    head = (f"From: Marisol Quintero <marisol.quintero@example.net>\nTo: {ALEX_ALIAS}\nSubject: {subject}\n"
            f"Date: {format_datetime(when)}\n"
            f"Message-ID: {msgid('latin1-marisol', 'webmail.example.net')}\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n"
            "X-Mailer: SquirrelMail/1.4.22\n\n")
    return head.encode("ascii") + body.encode("iso-8859-1")


def bounce(when: datetime) -> bytes:
    original_id = reply_id(5)
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx1.dmh.example.org>\n"
        f"To: {ALEX_ADDR}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Date: {format_datetime(when)}\n"
        f"Message-ID: {msgid('bounce-1', 'mx1.dmh.example.org')}\n"
        "Auto-Submitted: auto-replied\n"
        "Return-Path: <>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B7A1C2D3E4.1794152700/mx1"\n\n'
        "This is a MIME-encapsulated message.\n\n"
        "--B7A1C2D3E4.1794152700/mx1\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at host mx1.dmh.example.org.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "                   The mail system\n\n"
        "<j.fenwick@partner-clinic.example.net>: host mx.partner-clinic.example.net said:\n"
        "    550 5.1.1 <j.fenwick@partner-clinic.example.net>: Recipient address rejected:\n"
        "    User unknown in virtual mailbox table (in reply to RCPT TO command)\n\n"
        "--B7A1C2D3E4.1794152700/mx1\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx1.dmh.example.org\n"
        "X-Postfix-Queue-ID: B7A1C2D3E4\n"
        f"Arrival-Date: {format_datetime(when - timedelta(minutes=1))}\n\n"
        "Final-Recipient: rfc822; j.fenwick@partner-clinic.example.net\n"
        "Original-Recipient: rfc822;j.fenwick@partner-clinic.example.net\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Remote-MTA: dns; mx.partner-clinic.example.net\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <j.fenwick@partner-clinic.example.net>: Recipient address\n"
        "    rejected: User unknown in virtual mailbox table\n\n"
        "--B7A1C2D3E4.1794152700/mx1\n"
        "Content-Description: Undelivered Message Headers\n"
        "Content-Type: text/rfc822-headers\n\n"
        f"From: {ALEX}\n"
        "To: Jim Fenwick <j.fenwick@partner-clinic.example.net>\n"
        "Subject: Re: referral - release form\n"
        f"Date: {format_datetime(when - timedelta(minutes=1))}\n"
        f"Message-ID: {original_id}\n\n"
        "--B7A1C2D3E4.1794152700/mx1--\n").encode()


def forwarded(when: datetime) -> EmailMessage:
    inner = EmailMessage()
    inner["From"] = "DMH Appointments <no-reply@dmh.example.org>"
    inner["To"] = "victor.almeida@example.net"
    inner["Subject"] = "Appointment reminder"
    inner["Date"] = format_datetime(at(16, 6, 0))
    inner["Message-ID"] = msgid("reminder-victor", "notify.dmh.example.org")
    inner["Auto-Submitted"] = "auto-generated"
    inner["MIME-Version"] = "1.0"
    inner.set_content(
        "This is a reminder of your upcoming appointment:\n\n"
        "  Thursday, November 19, 2026 at 10:30 AM\n  Alex Morgan, LCSW - Adult Outpatient\n"
        "  1200 Sample Blvd, Suite 300\n\n"
        "To cancel or reschedule, call (213) 555-0140.\n"
        "If this is an emergency call 911 or 988. County 24/7 Help Line: (800) 854-7771.\n\n"
        "This mailbox is not monitored. Please do not reply.")
    outer = new_message(when, PERSON[VICTOR], "Fwd: Appointment reminder", mailer=IPHONE_MAILER)
    outer.set_content("is this right?? it says thursday the 19th at 10:30 but i thought we said wednesday the "
                      "18th at 2. which one is it" + IPHONE + "\n\nBegin forwarded message:")
    outer.add_attachment(inner)
    return outer


# ---------------------------------------------------------------------- writing

def finish() -> list[dict[str, object]]:
    MAILS.sort(key=lambda m: m.when)
    if INBOX.exists():
        shutil.rmtree(INBOX)
    for sub in ("cur", "new", "tmp"):
        (INBOX / sub).mkdir(parents=True)
    (INBOX / "tmp" / ".keep").write_text("")
    rows: list[dict[str, object]] = []
    for i, mail in enumerate(MAILS):
        if mail.msg is not None:
            fix_boundaries(mail.msg, f"sample-{i}")
            mail.raw = bytes(mail.msg)
        delivered = mail.when + timedelta(seconds=7 + (i * 13) % 40)  # a few seconds in transit
        stamp = int(delivered.timestamp())
        key = f"{stamp}.M{(stamp * 7919 + i) % 1000000}P{4000 + (i * 389) % 5000}Q{1 + i % 3}.sample"
        rel = f"cur/{key}:2,{mail.flags}" if mail.when < READ_BEFORE else f"new/{key}"
        (INBOX / rel).write_bytes(mail.raw)
        e = mail.expect
        rows.append({
            "key": key, "file": rel, "kind": e.kind, "description": e.description,
            "emergent": e.emergent, "hipaa_rights": e.rights, "purpose": e.purpose,
            "clinical_question": e.clinical, "consent": e.consent, "consent_failures": e.failures,
            "multiple_clients": e.multiple, "automated": e.automated, "language": e.language,
            "client_ids": e.clients, "standards": e.standards, "odd": e.odd,
        })
    return rows


def check(rows: list[dict[str, object]]) -> None:
    """The key agrees with registry.csv (a reference reading of standards 1-5)."""
    import email
    import email.policy
    from email.utils import getaddresses

    with REGISTRY.open(newline="") as f:
        records = [r for r in csv.DictReader(f) if r["clinician_email"] == ALEX_ADDR]
    by_id: dict[str, list[dict[str, str]]] = {}
    for r in records:
        by_id.setdefault(r["client_id"], []).append(r)
    for row in rows:
        raw = (INBOX / str(row["file"])).read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        sender = getaddresses([str(msg["From"])])[0][1].lower()
        where = f"{row['file']}: "
        clients = row["client_ids"]
        assert isinstance(clients, list)
        for cid in clients:
            assert cid in by_id, where + f"{cid} has no record with Alex"
        consented = [r for r in records if r["consented_email"].lower() == sender]
        own = [r for r in records if r["client_email"].lower() == sender and r not in consented]
        if row["consent"] == "not_applicable":
            assert row["automated"] or sender.endswith(("@dmh.example.org", "@partner-clinic.example.net")), where
            continue
        if row["consent"] == "unknown":
            assert not consented and not own and not clients, where + "sender is in the registry"
            continue
        if row["consent"] == "ok":
            assert consented, where + "sender is not a consented address"
        failures: set[str] = set()
        for r in consented or own:
            if r["client_id"] not in clients:
                continue
            if not consented:
                failures.add("4")
                if r["consent_basis"] == "responsible_adult":
                    failures.add("3")
            if r["clinician_determined"] != "true":
                failures.add("1b")
            if r["client_prefers_email"] != "true":
                failures.add("1c")
            if not r["form_signed_on"]:
                failures.add("1e")
            if r["revoked_on"]:
                failures.add("revoked")
        assert sorted(failures) == sorted(row["consent_failures"]), where + f"{sorted(failures)}"  # type: ignore
        assert (row["consent"] == "failing") == bool(failures), where
        to_cc = {a.lower() for _, a in getaddresses([str(msg.get("To", "")), str(msg.get("Cc", ""))])}
        others = {r["client_id"] for r in records if r["consented_email"].lower() in to_cc}
        if others:
            assert row["multiple_clients"], where + "other clients are addressed"


def write_table(rows: list[dict[str, object]]) -> None:
    def cell(v: object) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, list):
            return ", ".join(map(str, v)) or "-"
        return str(v).replace("|", "\\|")

    lines = [TABLE_START, "",
             "| # | file (new/ or cur/) | kind | what it is | emergent | rights | purpose | clinical q | consent "
             "| multiple clients | automated | lang | clients | standards |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in enumerate(rows, 1):
        consent = str(r["consent"]) + (f" ({cell(r['consent_failures'])})" if r["consent_failures"] else "")
        odd = f" *[{cell(r['odd'])}]*" if r["odd"] else ""
        lines.append(f"| {n} | `{r['file']}` | {r['kind']} | {cell(r['description'])}{odd} | "
                     f"{cell(r['emergent'])} | {cell(r['hipaa_rights'])} | {r['purpose']} | "
                     f"{cell(r['clinical_question'])} | {consent} | {cell(r['multiple_clients'])} | "
                     f"{cell(r['automated'])} | {r['language']} | {cell(r['client_ids'])} | "
                     f"{cell(r['standards'])} |")
    lines += ["", TABLE_END]
    text = README.read_text() if README.exists() else f"# Sample inbox\n\n{TABLE_START}\n{TABLE_END}\n"
    head, _, rest = text.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    README.write_text(head + "\n".join(lines) + tail)


def main() -> None:
    MAILS.clear()
    build()
    rows = finish()
    check(rows)
    EXPECTED.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    write_table(rows)
    new = sum(1 for r in rows if str(r["file"]).startswith("new/"))
    print(f"wrote {len(rows)} messages to {INBOX} ({new} in new/, {len(rows) - new} in cur/), "
          f"{EXPECTED.name} and the table in {README.name}")


if __name__ == "__main__":
    main()
