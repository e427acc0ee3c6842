"""parse(): odd and malformed mail is read with its defects, never raises."""

from __future__ import annotations

import random
from email.message import EmailMessage
from unittest import mock

import pytest
from conftest import make_mail

from triage.parse import html_to_text, parse, split_body

FOOTER = ("Alex Morgan, LCSW\nCounty DMH\nDMH 24/7 Help Line (800) 854-7771\n"
          "If this is an emergency call 911 or 988.")


def test_plain_message() -> None:
    m = parse(make_mail(1))
    assert m.sender and m.sender.email == "client@example.com"
    assert m.to[0].email == "alex.morgan@dmh.example.org"
    assert m.message_id == "<msg-1@example.com>" and m.date and m.date.utcoffset() is not None
    assert "thursday" in m.new_text and m.language == "en" and m.parser == "mail-parser" and not m.defects


def test_broken_mime_boundary_is_read_with_a_defect() -> None:
    raw = (b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="BOUND"\r\n\r\n'
           b"--BOUND\r\nContent-Type: text/plain\r\n\r\nplease call me back\r\n")  # never closed
    m = parse(raw)
    assert "please call me back" in m.new_text
    assert any("Boundary" in d for d in m.defects)
    missing_start = (b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"Q\"\r\n\r\n"
                     b"no parts at all here\r\n")
    assert any("Boundary" in d for d in parse(missing_start).defects)


@pytest.mark.parametrize("charset", ["x-unknown", "utf-99"])
def test_unknown_charset_falls_back(charset: str) -> None:
    raw = (f"From: a@example.com\r\nContent-Type: text/plain; charset={charset}\r\n\r\n").encode() + \
        b"necesito cambiar mi cita, gracias"
    m = parse(raw)
    assert "necesito cambiar mi cita" in m.new_text
    assert f"bad-charset: {charset}" in m.defects and m.language == "es"


def test_8bit_headers_and_latin1_body() -> None:
    raw = ("From: José Pérez <jose@example.com>\r\nSubject: cita mañana\r\n"
           "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n").encode("latin-1") + \
        "¿Puedo venir mañana? Gracias".encode("latin-1")
    m = parse(raw)
    assert m.sender and m.sender.email == "jose@example.com"
    assert "ma" in m.subject and "mañana" in m.new_text
    assert any(d.startswith("8bit-header") for d in m.defects)


def test_encoded_words_in_names_and_subject() -> None:
    raw = (b"From: =?utf-8?q?Mar=C3=ADa_L=C3=B3pez?= <maria@example.com>\r\n"
           b"Subject: =?utf-8?b?wr9QdWVkbyBjYW1iaWFyIGxhIGNpdGE/?=\r\n\r\nhola\r\n")
    m = parse(raw)
    assert m.sender and m.sender.name == "María López" and m.subject == "¿Puedo cambiar la cita?"


def test_a_25_mb_attachment_is_measured_not_kept() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content("my records are attached")
    msg.add_attachment(b"\x00" * (25 * 1024 * 1024), maintype="application", subtype="pdf", filename="scan.pdf")
    m = parse(bytes(msg))
    [att] = m.attachments
    assert att.filename == "scan.pdf" and abs(att.size - 25 * 1024 * 1024) < 1024
    assert "my records are attached" in m.new_text
    assert not any(isinstance(v, bytes) for v in vars(att).values()) if hasattr(att, "__dict__") else True


def test_empty_inputs() -> None:
    for raw in (b"", b"\r\n", b"From: a@example.com\r\n\r\n", b"no headers at all, just text"):
        m = parse(raw)
        assert m.new_text == m.new_text.strip() and m.size == len(raw)
    assert parse(b"From: a@example.com\r\n\r\n").new_text == ""


def test_nested_message_goes_to_quoted_text() -> None:
    inner = EmailMessage()
    inner["From"] = "old@example.com"
    inner["Subject"] = "old"
    inner.set_content("i want to die (an old message from last year)")
    outer = EmailMessage()
    outer["From"] = "a@example.com"
    outer.set_content("forwarding the thread you asked about")
    outer.add_attachment(inner)
    m = parse(bytes(outer))
    assert m.new_text == "forwarding the thread you asked about"
    assert "i want to die" in m.quoted_text and "i want to die" not in m.new_text


def test_cyrillic_attachment_name_and_quoted_printable() -> None:
    raw = (b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"caf=C3=A9 tomorrow?\r\n--b\r\nContent-Type: application/pdf\r\n"
           b"Content-Disposition: attachment; filename*=utf-8''%D0%B4%D0%BE%D0%BA.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
    m = parse(raw)
    assert "café tomorrow?" in m.new_text
    assert m.attachments[0].filename == "док.pdf" and m.attachments[0].size == 9


def test_html_only() -> None:
    raw = (b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n"
           b"<html><head><style>p{}</style></head><body><p>Can I come&nbsp;at 3?</p>"
           b"<blockquote>On Monday you wrote: call 988</blockquote></body></html>")
    m = parse(raw)
    assert m.new_text == "Can I come\xa0at 3?" or m.new_text == "Can I come at 3?"
    assert "988" in m.quoted_text and "988" not in m.new_text
    assert "p{}" not in html_to_text("<style>p{}</style>x")


def test_missing_message_id_and_bad_date() -> None:
    m = parse(b"From: a@example.com\r\nDate: not a date\r\n\r\nhi\r\n")
    assert m.message_id == "" and m.date is None and "bad-date" in m.defects


def test_english_reply_chain_and_clinician_footer_stay_out_of_new_text() -> None:
    body = ("ok thursday works\n\nOn Mon, Nov 16, 2026 at 9:00 AM Alex Morgan <alex.morgan@dmh.example.org>\n"
            "wrote:\n> Can you come Thursday?\n> " + FOOTER.replace("\n", "\n> "))
    new, quoted, _ = split_body(body)
    assert new == "ok thursday works" and "988" in quoted


def test_spanish_and_outlook_chains() -> None:
    new, quoted, _ = split_body("sí puedo\n\nEl lun, 16 nov 2026 a las 9:00, Alex Morgan escribió:\n> ¿Puede venir?")
    assert new == "sí puedo" and "Puede venir" in quoted
    new, quoted, _ = split_body("Thanks, see you then.\n\nFrom: Alex Morgan\nSent: Monday, November 16, 2026\n"
                                "To: Client\nSubject: appointment\n\nSee you Thursday.\n" + FOOTER)
    assert new == "Thanks, see you then." and "854-7771" in quoted


def test_inline_reply_keeps_the_clients_words() -> None:
    body = ("> How has your sleep been?\nnot great, maybe 3 hours a night and i keep waking up at 4\n"
            "> Are you taking the medication as prescribed?\nyes every night with dinner like you said, "
            "but i still feel groggy in the morning")
    new, quoted, _ = split_body(body)
    assert "3 hours a night" in new and "groggy" in new and "How has your sleep" in quoted


def test_signatures() -> None:
    new, _, sig = split_body("see you at 3\n-- \nJordan Client\n555-0101")
    assert new == "see you at 3" and "555-0101" in sig
    new, _, sig = split_body("running late sorry\n\nSent from my iPhone")
    assert new == "running late sorry" and sig == "Sent from my iPhone"
    new, _, sig = split_body("thanks, maria")
    assert new == "thanks, maria" and sig == ""


def test_languages() -> None:
    assert parse(b"From: a@example.com\r\n\r\nno puedo ir a la cita de hoy, mi hija esta enferma").language == "es"
    assert parse(b"From: a@example.com\r\n\r\ni can't make it today, my daughter is sick").language == "en"


def test_stdlib_fallback_when_mail_parser_fails() -> None:
    with mock.patch("triage.parse.mailparser.parse_from_bytes", side_effect=UnicodeError("boom")):
        m = parse(make_mail(3))
    assert m.parser == "stdlib" and "parser-fallback: UnicodeError" in m.defects and "thursday" in m.new_text


def test_never_raises_on_mutated_mail() -> None:
    rng = random.Random(0)
    seed = bytearray(make_mail(7) + b"\r\n" + bytes(range(256)))
    for _ in range(400):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 20)):
            i = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[i] = rng.randrange(256)
            elif op < 0.7:
                del data[i:i + rng.randint(1, 30)]
            else:
                data[i:i] = data[max(0, i - 40):i]
        m = parse(bytes(data))
        assert m.size == len(data)


def test_outlook_rule_and_header_block_is_all_history() -> None:
    body = ("Can I get a copy of my son's file before the school meeting? What do I need to do?\n\nThanks,\n"
            "Teresa\n\n________________________________\nFrom: Alex Morgan <alex.morgan@dmh.example.org>\n"
            "Sent: Tuesday, November 3, 2026 4:40 PM\nTo: Teresa\nSubject: next appointment\n\n"
            "Just confirming the next appointment on Thursday at 3:30. Please let me know if that time no "
            "longer works for you and we can find another one.\n\n" + FOOTER)
    new, quoted, _ = split_body(body)
    assert new.endswith("Teresa") and "854-7771" in quoted and "confirming" in quoted
