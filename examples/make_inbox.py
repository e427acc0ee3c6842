"""Writes examples/inbox/, the sample Maildir that config.toml reads as shipped.

Synthetic client mail to Alex Morgan (Adult Outpatient) of every kind triage
must catch: emergent, HIPAA rights requests, consent problems, several clients
on one message, clinical questions, ordinary scheduling, automated mail and odd
MIME. No real people; addresses at example.com / example.net / example.org.
Deterministic: run it again and the same files come out.
Run: python examples/make_inbox.py
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
INBOX = HERE / "inbox"
ALEX = "Alex Morgan <alex.morgan@dmh.example.org>"
PST = timezone(timedelta(hours=-8))
START = datetime(2026, 11, 16, 7, 5, tzinfo=PST)
FOOTER = ("Alex Morgan, LCSW | Adult Outpatient | County Department of Mental Health\n"
          "24/7 Help Line (800) 854-7771. If this is an emergency, call 911 or 988.\n"
          "This message may contain confidential information.")


def quoted(text: str, when: str = "Fri, Nov 13, 2026 at 4:12 PM") -> str:
    lines = [*text.split("\n"), "", *FOOTER.split("\n")]
    return f"\n\nOn {when} Alex Morgan <alex.morgan@dmh.example.org> wrote:\n" + "\n".join(
        "> " + x if x else ">" for x in lines)


# (key suffix, From, To, Cc, Subject, body, extra headers, flags "S"/"RS"/"" or None for new/)
MESSAGES: list[tuple[str, str, str, str, str, str, dict[str, str], str | None]] = [
    # ---------------------------------------------------------------- emergent
    ("emergent-plan", "Jordan Reyes <jordan.reyes@example.com>", ALEX, "", "tonight",
     "i cant do this anymore. i have my dads gun in the car and i already wrote the note. i'm going to do it "
     "tonight after everyone is asleep. i just wanted someone to know. im sorry", {}, None),
    ("emergent-overdose", "Priya Shah <priya.shah@example.net>", ALEX, "", "sorry",
     "I took the whole bottle of my sertraline and some of my moms sleeping pills about 20 minutes ago. "
     "I feel really dizzy and my heart is going so fast. I don't know why I did it", {}, None),
    ("emergent-passive", "Marcus Bell <marcus.bell@example.com>", ALEX, "", "Re: checking in",
     "honestly i don't want to wake up tomorrow. not going to do anything i think but every night now i lie there "
     "hoping i just dont wake up. work is fine i guess" + quoted("Hi Marcus, how are you doing since Tuesday?"),
     {}, None),
    ("emergent-ending", "Helen Cho <helen.cho@example.com>", ALEX, "", "thank you",
     "Alex, I wanted to thank you for everything you've done this year. You were the only one who really tried. "
     "I found a good home for Biscuit with my neighbor, and I've put the papers for my sister on the kitchen "
     "table. You won't need to see me next week. Please don't worry about me anymore.", {}, None),
    ("emergent-harm-other", "Dale Porter <dale.porter@example.net>", ALEX, "", "him again",
     "he came by my place again and i'm done. i know where he parks at night and i have a bat in my truck. "
     "if he shows up tomorrow i'm going to hurt him bad, i mean it this time.", {}, None),
    ("emergent-teen-cutting", "Rosa Alvarez <rosa.alvarez@example.com>", ALEX, "",
     "my daughter right now",
     "Sorry to email, I couldnt get through on the phone. My daughter Lucia locked herself in the bathroom and she "
     "is cutting her arms right now, there is blood on the floor and she wont open the door. What do I do", {},
     None),
    ("emergent-abuse-now", "Tanya Brooks <tanya.brooks@example.com>", ALEX, "", "(no subject)",
     "he is hitting me again right now, i'm in the bathroom with the phone. he took my car keys and said i'm not "
     "leaving tonight. please help", {}, None),
    ("emergent-es", "Carmen Ruiz <carmen.ruiz@example.net>", ALEX, "", "ya no puedo",
     "Alex ya no puedo más. Tengo guardadas todas las pastillas del mes, son como 60, y esta noche me las voy a "
     "tomar. Perdóname. Dile a mi hermana que la quiero.", {}, None),
    # ---------------------------------------------------------------- HIPAA rights
    ("rights-access", "Kevin Tran <kevin.tran@example.com>", ALEX, "", "my file",
     "Hi Alex, can I see what you wrote about me? I'd like a copy of my records from this year, including your "
     "notes, for my own files. Thanks, Kevin", {}, "S"),
    ("rights-amendment", "Maria Gonzalez <maria.gonzalez@example.com>", ALEX, "", "something wrong in my chart",
     "The discharge summary from the hospital in my chart says I was using meth. That is not true, it was a "
     "mistake, they mixed me up with someone. I want that corrected in my record please.", {}, None),
    ("rights-accounting", "Samuel Okafor <samuel.okafor@example.net>", ALEX, "", "who has my information",
     "I got a letter from my insurance that mentioned my therapy. Who have you sent my information to in the last "
     "few years? I want a list of everyone you shared it with.", {}, None),
    ("rights-restriction", "Emily Park <emily.park@example.com>", ALEX, "", "please don't share",
     "I'm paying out of pocket for the rest of my sessions. Please do not share anything about my treatment with "
     "my health plan, or with my mother even if she calls.", {}, "S"),
    ("rights-confidential", "David Kim <david.kim@example.net>", ALEX, "", "how to reach me",
     "please only call my cell from now on, not the house phone, and don't send any letters to my home address. "
     "my roommate opens my mail.", {}, None),
    ("rights-two", "Linda Foster <linda.foster@example.com>", ALEX, "", "records and a correction",
     "Good morning. I would like a copy of my complete record. Also the intake form lists my diagnosis date as "
     "2019 and it was 2021, so I'd like that fixed.\n\nLinda Foster\n(555) 010-4411", {}, None),
    ("rights-es", "Ana Torres <ana.torres@example.com>", ALEX, "", "mi expediente",
     "Hola Alex, quisiera una copia de mi expediente completo. ¿Cómo la puedo pedir? Gracias.\n\nEnviado desde "
     "mi iPhone", {}, None),
    ("rights-parent-minor", "Grace Wilson <grace.wilson@example.com>", ALEX, "", "Ethan's records",
     "Hi, this is Ethan's mom. Could I get a copy of Ethan's treatment records? The school is asking and I would "
     "like to see what's in there first.", {}, "RS"),
    # ---------------------------------------------------------------- consent problems
    ("consent-other-address", "Kevin Tran <ktran.work@example.net>", ALEX, "", "from my work email",
     "Hey it's Kevin, writing from work. Can we move Thursday to 4pm?", {}, None),
    ("consent-unknown", "Chris Doe <chris.d@example.com>", ALEX, "", "new here",
     "Hi, I got your email from the front desk. I'm a client at the clinic and wanted to ask about the anxiety "
     "group. When does it meet?", {}, None),
    ("consent-minor-own-address", "Ethan Wilson <ethan.w2010@example.net>", ALEX, "", "hey",
     "hey its ethan. can i come in friday instead, i have a game thursday", {}, None),
    ("consent-revoked", "Paul Becker <paul.becker@example.com>", ALEX, "", "appointment",
     "Hi Alex, I know I said no more emails but is my appointment still on Monday at 10?", {}, None),
    ("consent-unsigned", "Nina Patel <nina.patel@example.com>", ALEX, "", "hello",
     "Hello! Just making sure you got my intake packet. See you next week.", {}, "S"),
    ("consent-minor-self", "Sofia Martin <sofia.martin@example.net>", ALEX, "", "tuesday",
     "hi alex can we do tuesday at 4 after school? thanks", {}, None),
    # ---------------------------------------------------------------- several clients (standard 5)
    ("multi-cc", "Linda Foster <linda.foster@example.com>", ALEX, "Kevin Tran <kevin.tran@example.com>",
     "group carpool",
     "Alex, Kevin and I were talking after group and we'd like to carpool to Thursday's group. Is it ok if we "
     "both come at 5:30?", {}, None),
    ("multi-siblings", "Grace Wilson <grace.wilson@example.com>", ALEX, "", "both kids",
     "Hi, can we reschedule the kids' appointments next week? Wednesday works better for us.", {}, None),
    # ---------------------------------------------------------------- standards 7-8
    ("scheduling", "Kevin Tran <kevin.tran@example.com>", ALEX, "", "Re: Thursday",
     "Thursday at 2 works for me, see you then." + quoted("Hi Kevin, can you do Thursday at 2pm?"), {}, "RS"),
    ("reminder", "Maria Gonzalez <maria.gonzalez@example.com>", ALEX, "", "is it tomorrow?",
     "Just double checking, my appointment is tomorrow at 9:30 right?", {}, None),
    ("treatment-instructions", "Samuel Okafor <samuel.okafor@example.net>", ALEX, "", "the new pills",
     "sorry i forgot already, how many of the new pills am i supposed to take at night, one or two? the bottle "
     "label got wet", {}, None),
    ("information", "Emily Park <emily.park@example.com>", ALEX, "", "letter for work",
     "Could you remind me what the parking situation is at the new building? And when does the evening group "
     "start in January?", {}, "S"),
    ("clinical-question", "David Kim <david.kim@example.net>", ALEX, "", "meds",
     "I've been feeling really flat on the 20 mg. Should I go up to 40 or switch to something else? Also do you "
     "think I have bipolar? My cousin says the mood swings sound like it.", {}, None),
    ("clinical-in-scheduling", "Linda Foster <linda.foster@example.com>", ALEX, "", "next week",
     "Can we move next Tuesday to Wednesday morning? Also, is it ok if I stop the lamotrigine for a few days "
     "while I'm traveling?", {}, None),
    # ---------------------------------------------------------------- hard negatives
    ("neg-idiom", "Kevin Tran <kevin.tran@example.com>", ALEX, "", "news!!",
     "I'm dying to tell you what happened with the job interview! Also this disability paperwork is killing me "
     "lol, can we go over it Thursday?", {}, None),
    ("neg-history", "Maria Gonzalez <maria.gonzalez@example.com>", ALEX, "", "thinking about last year",
     "I used to cut years ago, back in high school, and I was thinking about how far I've come. Doing ok now. "
     "Just wanted to share that.", {}, "S"),
    ("neg-film", "Samuel Okafor <samuel.okafor@example.net>", ALEX, "", "that movie",
     "Did you see the film about the guy who jumped off the bridge and survived? It made me think about what you "
     "said about hope. Anyway see you Monday.", {}, None),
    ("neg-anger", "Dale Porter <dale.porter@example.net>", ALEX, "", "the pharmacy",
     "I am SO angry at the pharmacy. Third time they lost my refill. I'm not going to do anything stupid, I just "
     "needed to vent to someone.", {}, None),
    ("neg-records-thanks", "Kevin Tran <kevin.tran@example.com>", ALEX, "", "got it",
     "Thanks for sending the copy of my records, I got them yesterday.", {}, "RS"),
    ("neg-form-question", "Emily Park <emily.park@example.com>", ALEX, "", "quick question",
     "What is a release of information form? The front desk mentioned it and I wasn't sure what it does.", {},
     None),
    ("neg-quoted-crisis", "Marcus Bell <marcus.bell@example.com>", ALEX, "", "Re: Re: checking in",
     "Feeling a lot better this week, the new schedule helps. Thanks for checking on me." + quoted(
         "Thank you for telling me, Marcus. Let's talk Tuesday.\n\n> honestly i don't want to wake up tomorrow",
         "Mon, Nov 9, 2026 at 8:30 AM"), {}, None),
    # ---------------------------------------------------------------- automated and colleagues
    ("auto-ooo", "Paul Becker <paul.becker@example.com>", ALEX, "", "Automatic reply: appointment",
     "I am out of the office until December 1 with limited access to email.",
     {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}, None),
    ("auto-bounce", "Mail Delivery Subsystem <mailer-daemon@dmh.example.org>", ALEX, "",
     "Undelivered Mail Returned to Sender",
     "This is the mail system at host mx.dmh.example.org.\n\nI'm sorry to have to inform you that your message "
     "could not be delivered to one or more recipients.\n\n<old.address@example.net>: host not found",
     {"Auto-Submitted": "auto-replied", "Return-Path": "<>"}, "S"),
    ("auto-newsletter", "Wellness Weekly <news@wellness.example.org>", ALEX, "", "5 tips for better sleep",
     "This week: five tips for better sleep, and our holiday schedule.",
     {"List-Id": "<weekly.wellness.example.org>", "List-Unsubscribe": "<mailto:leave@wellness.example.org>",
      "Precedence": "bulk"}, "S"),
    ("colleague", "Casey Nguyen <casey.nguyen@dmh.example.org>", ALEX, "", "supervision",
     "Can we move supervision to 3pm Thursday? I have a meeting at 2.", {}, "S"),
    ("partner", "Intake Team <intake@partner-clinic.example.net>", ALEX, "", "referral follow-up",
     "Following up on the referral we sent last week. Please let us know if you need anything else.", {}, None),
]


def build(key: str, sender: str, to: str, cc: str, subject: str, body: str, headers: dict[str, str],
          when: datetime, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<sample-{n:03d}-{key}@example.com>"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


def odd_messages(when: datetime) -> list[tuple[str, bytes, str | None]]:
    """Odd MIME that is still plausible client mail."""
    out: list[tuple[str, bytes, str | None]] = []
    html = EmailMessage()
    html["From"] = "Kevin Tran <kevin.tran@example.com>"
    html["To"] = ALEX
    html["Subject"] = "running late"
    html["Date"] = format_datetime(when)
    html["Message-ID"] = "<sample-html@example.com>"
    html.set_content("<html><body><p>Running about <b>10 minutes</b> late, so sorry!</p></body></html>",
                     subtype="html")
    out.append(("odd-html-only", bytes(html), None))

    att = EmailMessage()
    att["From"] = "Maria Gonzalez <maria.gonzalez@example.com>"
    att["To"] = ALEX
    att["Subject"] = "the form you asked for"
    att["Date"] = format_datetime(when + timedelta(minutes=3))
    att["Message-ID"] = "<sample-attachment@example.com>"
    att.set_content("Here is the signed housing form you asked for.")
    att.add_attachment(b"%PDF-1.4\n% sample, not a real form\n", maintype="application", subtype="pdf",
                       filename="housing-form.pdf")
    out.append(("odd-attachment", bytes(att), "S"))

    latin = ("From: =?iso-8859-1?q?Jos=E9_Ram=EDrez?= <jose.ramirez@example.net>\r\n"
             f"To: {ALEX}\r\nSubject: =?iso-8859-1?q?cita_del_mi=E9rcoles?=\r\n"
             f"Date: {format_datetime(when + timedelta(minutes=6))}\r\n"
             "Message-ID: <sample-latin1@example.net>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
             "Buenos días, ¿podemos cambiar la cita del miércoles para el jueves? Mi hija está enferma.\r\n")
    out.append(("odd-latin1", latin.encode("latin-1"), None))

    no_id = (f"From: Emily Park <emily.park@example.com>\r\nTo: {ALEX}\r\nSubject: no id\r\n"
             f"Date: {format_datetime(when + timedelta(minutes=9))}\r\n\r\n"
             "sent from the library computer, see you at 3\r\n")
    out.append(("odd-no-message-id", no_id.encode(), None))

    inner = EmailMessage()
    inner["From"] = "Pharmacy <refills@pharmacy.example.org>"
    inner["Subject"] = "Your refill is ready"
    inner.set_content("Your prescription is ready for pickup.")
    fwd = EmailMessage()
    fwd["From"] = "Samuel Okafor <samuel.okafor@example.net>"
    fwd["To"] = ALEX
    fwd["Subject"] = "Fwd: Your refill is ready"
    fwd["Date"] = format_datetime(when + timedelta(minutes=12))
    fwd["Message-ID"] = "<sample-forward@example.net>"
    fwd.set_content("fyi, the pharmacy finally has it")
    fwd.add_attachment(inner)
    out.append(("odd-forwarded", bytes(fwd), "S"))

    broken = (f"From: David Kim <david.kim@example.net>\r\nTo: {ALEX}\r\nSubject: photo of the letter\r\n"
              f"Date: {format_datetime(when + timedelta(minutes=15))}\r\n"
              "Message-ID: <sample-broken@example.net>\r\nMIME-Version: 1.0\r\n"
              'Content-Type: multipart/mixed; boundary="zzz"\r\n\r\n'
              "--zzz\r\nContent-Type: text/plain\r\n\r\nhere is the letter from my landlord\r\n"
              "--zzz\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRg==\r\n")
    out.append(("odd-broken-mime", broken.encode(), None))
    return out


def main() -> None:
    if INBOX.exists():
        shutil.rmtree(INBOX)
    for sub in ("cur", "new", "tmp"):
        (INBOX / sub).mkdir(parents=True)
    (INBOX / "tmp" / ".keep").write_text("")
    n = 0
    items: list[tuple[str, bytes, str | None]] = []
    for key, sender, to, cc, subject, body, headers, flags in MESSAGES:
        when = START + timedelta(minutes=17 * n)
        items.append((key, build(key, sender, to, cc, subject, body, headers, when, n), flags))
        n += 1
    items.extend(odd_messages(START + timedelta(minutes=17 * n)))
    for i, (key, raw, flags) in enumerate(items):
        stamp = int((START + timedelta(minutes=17 * i)).timestamp())
        name = f"{stamp}.M{i:03d}P1Q1.sample-{key}"
        if flags is None:
            (INBOX / "new" / name).write_bytes(raw)
        else:
            (INBOX / "cur" / f"{name}:2,{flags}").write_bytes(raw)
    print(f"wrote {len(items)} messages to {INBOX}")


if __name__ == "__main__":
    main()
