"""parse(): odd and malformed mail is read with its defects and never raises; the sender's new words are
kept apart from quoted history and signatures. Synthetic messages only, built here."""

from __future__ import annotations

import base64
import dataclasses
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from unittest import mock

import pytest

from triage.parse import detect_language, html_to_text, parse, split_body
from triage.values import Address, Message

FOOTER = ("Alex Morgan, LCSW\nCounty DMH Adult Outpatient\nDMH 24/7 Help Line (800) 555-0199\n"
          "If this is an emergency call 911 or 988.")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def mail(body: str, *, charset: str = "utf-8", subject: str = "appointment") -> bytes:
    """A one-part text/plain message with the usual headers; the body is UTF-8 whatever the label says."""
    head = ("From: Jordan Client <jordan@example.com>\nTo: alex.morgan@dmh.example.org\n"
            f"Subject: {subject}\nMessage-ID: <m1@example.com>\nDate: Mon, 16 Nov 2026 09:00:00 -0800\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset={charset}\n\n")
    return crlf(head + body)


def no_bytes_anywhere(value: object) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return False
    if dataclasses.is_dataclass(value):
        return all(no_bytes_anywhere(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return all(no_bytes_anywhere(k) and no_bytes_anywhere(v) for k, v in value.items())
    if isinstance(value, tuple | list):
        return all(no_bytes_anywhere(v) for v in value)
    return True


# --------------------------------------------------------------------------- structure


def test_plain_message() -> None:
    m = parse(mail("can we move my appointment to thursday?\n"))
    assert isinstance(m, Message) and m.parser == "mail-parser"
    assert m.sender == Address("Jordan Client", "jordan@example.com")
    assert m.to == (Address("", "alex.morgan@dmh.example.org"),) and m.cc == () and m.reply_to == ()
    assert m.message_id == "<m1@example.com>"
    assert m.date == datetime(2026, 11, 16, 17, 0, tzinfo=UTC) and m.date.utcoffset() == timedelta(hours=-8)
    assert m.subject == "appointment"
    assert m.new_text == "can we move my appointment to thursday?"
    assert m.quoted_text == "" and m.signature == "" and m.attachments == ()
    assert m.language == "en" and m.defects == ()
    assert m.size == len(mail("can we move my appointment to thursday?\n"))


def test_multipart_alternative_prefers_the_plain_part() -> None:
    msg = EmailMessage()
    msg["From"] = "jordan@example.com"
    msg.set_content("plain words here\n")
    msg.add_alternative("<html><body><p>html words here</p></body></html>", subtype="html")
    m = parse(bytes(msg))
    assert m.new_text == "plain words here" and "html" not in m.new_text and m.attachments == ()


def test_alternative_with_an_empty_plain_part_uses_the_html() -> None:
    msg = EmailMessage()
    msg["From"] = "jordan@example.com"
    msg.set_content(" \n")
    msg.add_alternative("<p>the real words</p>", subtype="html")
    assert parse(bytes(msg)).new_text == "the real words"


def test_html_beside_plain_text_outside_an_alternative_is_kept() -> None:
    raw = crlf("From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
               "--b\nContent-Type: text/plain\n\nfirst part\n"
               "--b\nContent-Type: text/html\n\n<p>second <b>part</b></p>\n--b--\n")
    assert parse(raw).new_text == "first part\nsecond part"


def test_utf7_lone_surrogates_do_not_escape_into_the_message() -> None:
    raw = crlf("From: a@example.com\nSubject: =?utf-7?q?+2AA-?=\nContent-Type: text/plain; charset=utf-7\n\n"
               "hi +2AA- there\n")
    m = parse(raw)
    for text in (m.subject, m.new_text):
        text.encode("utf-8")  # no lone surrogate left
    assert m.new_text.startswith("hi ") and m.new_text.endswith(" there")


def test_html_only_becomes_readable_text() -> None:
    raw = crlf("From: a@example.com\nContent-Type: text/html; charset=utf-8\n\n"
               "<html><head><title>t</title><style>p {color: red}</style><script>var x = 1;</script></head>"
               "<body><p>Can I come&nbsp;at 3?</p><div>Tom &amp; I&#39;ll both be there</div>line<br>break"
               "<blockquote>On Monday you wrote:<br>call 988 if you need to</blockquote></body></html>")
    m = parse(raw)
    assert m.new_text == "Can I come at 3?\nTom & I'll both be there\nline\nbreak"
    assert "988" in m.quoted_text and "988" not in m.new_text
    assert "color" not in m.new_text and "var x" not in m.new_text


def test_html_to_text_handles_broken_html_and_nested_quotes() -> None:
    assert html_to_text("<p>unclosed <b>bold <i>italic") == "unclosed bold italic"
    text = html_to_text("<div>top</div><blockquote>one<blockquote>two</blockquote></blockquote>")
    assert text.splitlines() == ["top", "> one", "> > two"]
    assert html_to_text("") == "" and html_to_text("<<<>>>&&&;") is not None


def test_hostile_html_is_read_in_linear_time() -> None:
    # html.parser alone needs ~50 s for this 60 KB (it rescans from every unclosed "<").
    start = time.perf_counter()
    assert html_to_text("<a " * 20_000 + "<p>still here</p>").endswith("still here")
    m = parse(crlf("From: a@example.com\nContent-Type: text/html\n\n") + b"<b x=" * 20_000)
    assert isinstance(m, Message) and time.perf_counter() - start < 5


def test_broken_mime_boundary_is_read_with_a_defect() -> None:
    never_closed = crlf('From: a@example.com\nSubject: x\nMIME-Version: 1.0\n'
                        'Content-Type: multipart/mixed; boundary="BOUND"\n\n'
                        "--BOUND\nContent-Type: text/plain\n\nplease call me back\n")
    m = parse(never_closed)
    assert "please call me back" in m.new_text
    assert "CloseBoundaryNotFoundDefect" in m.defects
    missing_start = crlf('From: a@example.com\nMIME-Version: 1.0\n'
                         'Content-Type: multipart/mixed; boundary="Q"\n\nno parts at all here\n')
    m = parse(missing_start)
    assert "StartBoundaryNotFoundDefect" in m.defects and m.new_text == "no parts at all here"
    wrong_boundary = crlf('From: a@example.com\nMIME-Version: 1.0\n'
                          'Content-Type: multipart/mixed; boundary="Q"\n\n'
                          "--other\nContent-Type: text/plain\n\ni need help\n--other\n"
                          "Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n"
                          "JVBERi0xLjQK\n--other--\n")
    m = parse(wrong_boundary)
    assert m.new_text == "i need help" and "boundary-repaired" in m.defects
    assert [(a.filename, a.size) for a in m.attachments] == [("a.pdf", 9)]


def test_multipart_without_a_boundary_parameter() -> None:
    m = parse(crlf("From: a@example.com\nContent-Type: multipart/mixed\n\nsome text\n"))
    assert "NoBoundaryInMultipartDefect" in m.defects


@pytest.mark.parametrize("charset", ["x-unknown", "utf-99", "base64_codec"])
def test_unknown_charset_falls_back_to_utf8_with_a_defect(charset: str) -> None:
    m = parse(mail("necesito cambiar mi cita, gracias. Ya está bien\n", charset=charset))
    assert m.new_text == "necesito cambiar mi cita, gracias. Ya está bien"
    assert f"bad-charset: {charset}" in m.defects and m.language == "es"


def test_unknown_charset_with_latin1_bytes_falls_back_to_latin1() -> None:
    raw = crlf("From: a@example.com\nContent-Type: text/plain; charset=x-unknown\n\n") + \
        "¿Puedo venir mañana? Está bien".encode("latin-1")
    m = parse(raw)
    assert m.new_text == "¿Puedo venir mañana? Está bien" and "bad-charset: x-unknown" in m.defects


def test_declared_charset_that_does_not_fit_the_bytes() -> None:
    raw = crlf("From: a@example.com\nContent-Type: text/plain; charset=utf-8\n\n") + "mañana".encode("cp1252")
    m = parse(raw)
    assert m.new_text == "mañana" and "charset-mismatch: utf-8" in m.defects


def test_latin1_label_reads_windows_curly_quotes() -> None:
    raw = crlf("From: a@example.com\nContent-Type: text/plain; charset=iso-8859-1\n\n") + \
        "“ok” – see you".encode("cp1252")
    assert parse(raw).new_text == "“ok” – see you"


def test_8bit_non_utf8_bytes_in_subject_and_from() -> None:
    raw = ("From: José Pérez <Jose@Example.com>\r\nSubject: cita mañana\r\n"
           "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n").encode("latin-1") + \
        "¿Puedo venir mañana? Gracias".encode("latin-1")
    m = parse(raw)
    assert m.sender == Address("José Pérez", "jose@example.com")
    assert m.subject == "cita mañana" and m.new_text == "¿Puedo venir mañana? Gracias"
    assert "undecodable-header: subject" in m.defects and "undecodable-header: from" in m.defects


def test_raw_utf8_headers_are_not_a_defect() -> None:
    raw = "From: María López <maria@example.com>\r\nSubject: ¿mañana?\r\n\r\nhola\r\n".encode()
    m = parse(raw)
    assert m.sender == Address("María López", "maria@example.com") and m.subject == "¿mañana?"
    assert not any(d.startswith("undecodable") for d in m.defects)


def test_rfc2047_encoded_names_and_subject() -> None:
    raw = crlf("From: =?utf-8?q?Mar=C3=ADa_L=C3=B3pez?= <MARIA@example.com>\n"
               'To: "=?iso-8859-1?q?Jos=E9?=" <jose@example.net>,\n'
               " =?utf-8?b?TMOzcGV6LCBBbmE=?= <ana@example.org>\n"
               "Cc: =?utf-8?q?Ren=C3=A9e?= =?utf-8?q?_Martin?= <renee@example.com>\n"
               "Subject: =?utf-8?b?wr9QdWVkbyBjYW1iaWFyIGxh?=\n =?utf-8?b?IGNpdGE/?= (urgent)\n\nhola\n")
    m = parse(raw)
    assert m.sender == Address("María López", "maria@example.com")
    assert m.to == (Address("José", "jose@example.net"), Address("López, Ana", "ana@example.org"))
    assert m.cc == (Address("Renée Martin", "renee@example.com"),)
    assert m.subject == "¿Puedo cambiar la cita? (urgent)"


def test_encoded_word_in_an_unknown_charset() -> None:
    m = parse(crlf("From: =?x-bogus?q?Mar=C3=ADa?= <maria@example.com>\nSubject: =?utf-8?b?!!!?=\n\nhi\n"))
    assert m.sender == Address("María", "maria@example.com") and "bad-charset: x-bogus" in m.defects


def test_garbage_addresses_are_skipped_with_a_defect() -> None:
    m = parse(crlf("From: a@example.com\nTo: Good One <GOOD@Example.org>, garbage, @nowhere,\n"
                   " <also@example.net>\nCc: undisclosed-recipients:;\n\nhi\n"))
    assert [a.email for a in m.to] == ["good@example.org", "also@example.net"]
    assert "bad-address: to" in m.defects and m.cc == ()


def test_from_without_a_usable_address_and_no_from() -> None:
    m = parse(crlf("From: Maria\nTo: a@example.org\n\nhi\n"))
    assert m.sender is not None and m.sender.email == "" and "bad-address: from" in m.defects
    assert parse(crlf("To: a@example.org\n\nhi\n")).sender is None


def test_a_25_mb_attachment_is_measured_not_kept() -> None:
    msg = EmailMessage()
    msg["From"] = "jordan@example.com"
    msg.set_content("my records are attached")
    size = 25 * 1024 * 1024
    msg.add_attachment(bytes(range(256)) * (size // 256), maintype="application", subtype="pdf",
                       filename="scan.pdf")
    raw = bytes(msg)
    m = parse(raw)
    [att] = m.attachments
    assert att.filename == "scan.pdf" and att.content_type == "application/pdf" and not att.is_inline
    assert abs(att.size - size) <= 4
    assert m.new_text == "my records are attached" and m.size == len(raw)
    assert no_bytes_anywhere(m)
    assert sum(len(str(getattr(m, f.name))) for f in dataclasses.fields(m)) < 10_000  # no payload text either


def test_attachment_sizes_for_other_encodings() -> None:
    msg = EmailMessage()
    msg["From"] = "jordan@example.com"
    msg.set_content("see attached")
    msg.add_attachment("línea uno\n" * 100, subtype="csv", filename="notes.csv", cte="quoted-printable")
    msg.add_attachment(b"\x89PNG" + bytes(1000), maintype="image", subtype="png", disposition="inline",
                       cid="<img1@example.com>")
    m = parse(bytes(msg))
    csv, png = m.attachments
    assert (csv.filename, csv.content_type) == ("notes.csv", "text/csv")
    assert csv.size == len(("línea uno\n" * 100).encode())
    assert (png.content_type, png.size, png.is_inline) == ("image/png", 1004, True)
    assert m.new_text == "see attached"


def test_empty_body_and_empty_inputs() -> None:
    m = parse(crlf("From: a@example.com\nSubject: nothing\n\n"))
    assert m.new_text == m.quoted_text == m.signature == "" and m.subject == "nothing" and m.language == ""
    empty = parse(b"")
    assert isinstance(empty, Message) and empty.size == 0 and empty.sender is None and empty.new_text == ""
    assert parse(b"\r\n").new_text == ""


def test_no_headers_at_all() -> None:
    m = parse(b"no headers at all, just a line of text\nand another")
    assert m.sender is None and m.message_id == "" and m.date is None and m.subject == ""
    assert "no headers at all" in m.new_text and "MissingHeaderBodySeparatorDefect" in m.defects


@pytest.mark.parametrize("seed", range(5))
def test_random_binary(seed: int) -> None:
    data = random.Random(seed).randbytes(5000)
    m = parse(data)
    assert isinstance(m, Message) and m.size == 5000 and isinstance(m.new_text, str)


def test_nested_message_text_goes_to_quoted_text() -> None:
    inner = EmailMessage()
    inner["From"] = "old@example.com"
    inner["Subject"] = "old"
    inner.set_content("i want to die (an old message from last year)")
    inner.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="old.bin")
    outer = EmailMessage()
    outer["From"] = "jordan@example.com"
    outer.set_content("forwarding the thread you asked about")
    outer.add_attachment(inner)
    m = parse(bytes(outer))
    assert m.new_text == "forwarding the thread you asked about"
    assert "i want to die" in m.quoted_text and "i want to die" not in m.new_text
    kinds = [(a.content_type, a.filename) for a in m.attachments]
    assert kinds == [("message/rfc822", ""), ("application/octet-stream", "old.bin")]
    assert m.attachments[0].size >= 4 + len("i want to die")


def test_only_a_forwarded_message_gives_empty_new_text() -> None:
    inner = EmailMessage()
    inner["From"] = "old@example.com"
    inner.add_alternative("<p>old html <b>only</b></p>", subtype="html")
    outer = EmailMessage()
    outer["From"] = "jordan@example.com"
    outer.make_mixed()
    outer.attach(_as_rfc822(inner))
    m = parse(bytes(outer))
    assert m.new_text == "" and m.quoted_text == "old html only"


def _as_rfc822(inner: EmailMessage) -> EmailMessage:
    part = EmailMessage()
    part.set_content(inner)
    return part


def test_cyrillic_attachment_filename_rfc2231_and_rfc2047() -> None:
    raw = crlf("From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
               "--b\nContent-Type: text/plain; charset=utf-8\n\nsee attached\n"
               "--b\nContent-Type: application/pdf\n"
               "Content-Disposition: attachment; "
               "filename*=utf-8''%D0%B4%D0%BE%D0%BA%D1%83%D0%BC%D0%B5%D0%BD%D1%82.pdf\n"
               "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
               "--b\nContent-Type: application/pdf; name=\"=?utf-8?b?0YTQsNC50LsucGRm?=\"\n"
               "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJQ==\n--b--\n")
    m = parse(raw)
    assert [(a.filename, a.size) for a in m.attachments] == [("документ.pdf", 9), ("файл.pdf", 10)]
    assert m.new_text == "see attached"


def test_quoted_printable_body() -> None:
    raw = crlf("From: a@example.com\nContent-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: quoted-printable\n\n"
               "caf=C3=A9 tomorrow? this is a long line that was wrapped with a soft line b=\n"
               "reak =3D fine\n")
    m = parse(raw)
    assert m.new_text == "café tomorrow? this is a long line that was wrapped with a soft line break = fine"


def test_message_id_missing_or_padded() -> None:
    assert parse(crlf("From: a@example.com\n\nhi\n")).message_id == ""
    assert parse(crlf("From: a@example.com\nMessage-ID:\n   <abc@example.com>  \n\nhi\n")).message_id == \
        "<abc@example.com>"


@pytest.mark.parametrize("value", ["not a date", "Mon, 45 Foo 2026 99:99:99 +0000",
                                   "Mon, 16 Nov 99999999 09:00 +0000"])
def test_bad_date(value: str) -> None:
    m = parse(crlf(f"From: a@example.com\nDate: {value}\n\nhi\n"))
    assert m.date is None and "bad-date" in m.defects


def test_date_without_a_zone_is_read_as_utc() -> None:
    m = parse(crlf("From: a@example.com\nDate: Mon, 16 Nov 2026 09:00:00 -0000\n\nhi\n"))
    assert m.date == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_selected_headers_threading_and_caps() -> None:
    raw = crlf("From: a@example.com\nAuto-Submitted: auto-replied\nPrecedence: bulk\n"
               "List-Id: <list.example.org>\n"
               "X-Secret: not kept\nReturn-Path: <>\nX-Mailer: " + "x" * 3000 + "\n"
               "In-Reply-To: <prev@example.com>\n"
               "References: <one@example.com>\n <two@example.com> <prev@example.com>\n\nhi\n")
    m = parse(raw)
    assert m.headers["auto-submitted"] == "auto-replied" and m.headers["precedence"] == "bulk"
    assert m.headers["list-id"] == "<list.example.org>" and m.headers["return-path"] == "<>"
    assert len(m.headers["x-mailer"]) == 1000 and "x-secret" not in m.headers
    assert set(m.headers) <= {"auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply",
                              "x-autorespond", "x-auto-response-suppress", "return-path", "content-language",
                              "x-mailer", "in-reply-to", "references"}
    assert m.in_reply_to == "<prev@example.com>"
    assert m.references == ("<one@example.com>", "<two@example.com>", "<prev@example.com>")


# --------------------------------------------------------------------------- quotes and signatures


def test_english_reply_chain_with_wrapped_attribution() -> None:
    body = ("ok thursday works\n\nOn Mon, Nov 16, 2026 at 9:00 AM Alex Morgan <alex.morgan@dmh.example.org>\n"
            "wrote:\n\n> Can you come Thursday?\n>\n> " + FOOTER.replace("\n", "\n> ") + "\n")
    m = parse(mail(body))
    assert m.new_text == "ok thursday works"
    assert m.quoted_text.startswith("On Mon, Nov 16") and "988" in m.quoted_text and "988" not in m.new_text


def test_attribution_on_one_line_and_without_on() -> None:
    new, quoted, _ = split_body("sounds good\n\nOn 11/16/2026 9:00 AM, Alex wrote:\n> see you then\n")
    assert (new, quoted) == ("sounds good", "On 11/16/2026 9:00 AM, Alex wrote:\n> see you then")
    new, quoted, _ = split_body("sounds good\nAlex Morgan <alex@example.org> wrote:\n> see you then")
    assert new == "sounds good" and quoted.startswith("Alex Morgan")


def test_prose_that_looks_like_an_attribution_is_kept() -> None:
    new, quoted, _ = split_body("On Monday I wrote:\nI feel hopeless and I do not want to go on")
    assert "hopeless" in new and quoted == ""


def test_spanish_reply_chain() -> None:
    body = ("sí puedo ir el jueves\n\n"
            "El lun, 3 nov 2025 a las 9:00, Alex Morgan (<alex.morgan@dmh.example.org>)\nescribió:\n"
            "> ¿Puede venir el jueves?\n> " + FOOTER.replace("\n", "\n> "))
    m = parse(mail(body))
    assert m.new_text == "sí puedo ir el jueves" and "¿Puede venir" in m.quoted_text
    assert "988" not in m.new_text and m.language == "es"


def test_outlook_header_block_is_history() -> None:
    body = ("Thanks, see you then.\n\nFrom: Alex Morgan <alex.morgan@dmh.example.org>\n"
            "Sent: Monday, November 16, 2026 9:00 AM\nTo: Jordan\nSubject: appointment\n\n"
            "See you Thursday. If you feel unsafe before then, call the crisis line.\n\n" + FOOTER)
    new, quoted, sig = split_body(body)
    assert new == "Thanks, see you then." and "crisis line" in quoted and "555-0199" in quoted and sig == ""
    new, quoted, _ = split_body("Gracias.\n\nDe: Alex Morgan\nEnviado: lunes, 16 de noviembre de 2026\n"
                                "Para: Jordan\nAsunto: cita\n\nNos vemos el jueves.\n" + FOOTER)
    assert new == "Gracias." and "988" in quoted


def test_outlook_rule_original_message_and_forwards_are_history() -> None:
    rule = ("Can I get a copy of my son's file before the school meeting?\n\nThanks,\nTeresa\n\n"
            "________________________________\nFrom: Alex Morgan <alex.morgan@dmh.example.org>\n"
            "Sent: Tuesday, November 3, 2026 4:40 PM\nTo: Teresa\nSubject: next appointment\n\n"
            "Just confirming Thursday at 3:30.\n\n" + FOOTER)
    new, quoted, _ = split_body(rule)
    assert new.endswith("Thanks,\nTeresa") and quoted.startswith("____") and "988" in quoted
    for separator in ("-----Original Message-----", "-----Mensaje original-----",
                      "---------- Forwarded message ---------", "Begin forwarded message:"):
        new, quoted, _ = split_body(f"see below\n\n{separator}\nFrom: x@example.com\n\ncall 988 anytime\n")
        assert new == "see below" and "988" in quoted, separator


def test_attribution_without_quote_marks_is_all_history() -> None:
    new, quoted, _ = split_body("yes\n\nOn Mon, Nov 16, 2026 at 9:00 AM Alex wrote:\n\n"
                                "Are you safe tonight?\n" + FOOTER)
    assert new == "yes" and "Are you safe" in quoted and "988" in quoted


def test_inline_reply_keeps_the_clients_words() -> None:
    body = ("Answers below.\n\n"
            "On Mon, Nov 16, 2026 at 9:00 AM Alex Morgan <alex.morgan@dmh.example.org> wrote:\n"
            "> How has your sleep been?\nnot great, maybe 3 hours a night\n"
            "> Any thoughts of hurting yourself?\nyes\n\n"
            "> Are you taking the medication?\n\nno\n\n> " + FOOTER.replace("\n", "\n> "))
    m = parse(mail(body))
    assert m.new_text.split("\n") == ["Answers below.", "", "not great, maybe 3 hours a night", "yes", "",
                                      "no"]
    assert "How has your sleep" in m.quoted_text and "hurting yourself" in m.quoted_text
    assert "988" in m.quoted_text and "988" not in m.new_text


def test_a_dash_line_between_inline_answers_is_no_signature() -> None:
    new, quoted, sig = split_body("> question one\n--\nmy answer to it\n> question two\nyes\n-- \nJo")
    assert new == "--\nmy answer to it\nyes" and quoted == "> question one\n> question two" and sig == "Jo"


def test_bottom_posted_reply_is_new_text() -> None:
    new, quoted, _ = split_body("> Can you come Thursday?\n\nyes I can, thank you")
    assert new == "yes I can, thank you" and quoted == "> Can you come Thursday?"


def test_a_quoted_line_wrapped_by_the_mailer_stays_quoted() -> None:
    body = ("ok\n\n> I wanted to check in after our session last week and see how you have been\n"
            "doing since\n> then. " + FOOTER.replace("\n", "\n> "))
    new, quoted, _ = split_body(body)
    assert new == "ok" and "doing since" in quoted


def test_top_posted_reply_with_quote_then_footer_of_the_quote() -> None:
    body = "I'm fine now\n\n> Are you safe?\n> " + FOOTER.replace("\n", "\n> ") + "\n\n-- \nJordan"
    quoted = "> Are you safe?\n> " + FOOTER.replace("\n", "\n> ")
    assert split_body(body) == ("I'm fine now", quoted, "Jordan")
    new, quoted, sig = split_body("ok\n\n> see you\n\nSent from my iPhone")
    assert (new, quoted, sig) == ("ok", "> see you", "Sent from my iPhone")
    new, quoted, sig = split_body("ok\n\n> see you\n-- \n" + "\n".join(f"line {i}" for i in range(20)))
    assert "line 19" in new and sig == ""


def test_html_reply_quote_goes_to_quoted_text() -> None:
    html = ('<div dir="ltr">I can come at 3</div><br><div class="gmail_quote"><div class="gmail_attr">'
            "On Mon, Nov 16, 2026 at 9:00 AM Alex Morgan &lt;alex.morgan@dmh.example.org&gt; wrote:<br></div>"
            '<blockquote class="gmail_quote">Can you come Thursday?<br><br>' + FOOTER.replace("\n", "<br>")
            + "</blockquote></div>")
    msg = EmailMessage()
    msg["From"] = "jordan@example.com"
    msg.set_content(html, subtype="html")
    m = parse(bytes(msg))
    assert m.new_text == "I can come at 3" and "988" in m.quoted_text and "Can you come" in m.quoted_text


def test_signature_after_delimiter() -> None:
    new, quoted, sig = split_body("see you at 3\n-- \nJordan Client\n555-0101\n")
    assert (new, quoted, sig) == ("see you at 3", "", "Jordan Client\n555-0101")
    new, _, sig = split_body("see you at 3\n--\nJordan")
    assert (new, sig) == ("see you at 3", "Jordan")


def test_signature_never_takes_more_than_the_last_lines() -> None:
    body = "hi\n-- \n" + "\n".join(f"line {i} of something long I wrote" for i in range(20))
    new, _, sig = split_body(body)
    assert sig == "" and "line 19" in new


def test_mobile_footers() -> None:
    for footer in ("Sent from my iPhone", "Enviado desde mi iPhone", "Get Outlook for iOS",
                   "Sent from my Galaxy", "Sent from my Samsung Galaxy smartphone.",
                   "Get Outlook for Android<https://aka.ms/ghei36>"):
        new, _, sig = split_body(f"running late sorry\n\n{footer}\n")
        assert (new, sig) == ("running late sorry", footer), footer
    new, _, sig = split_body("ok\n\nSent from my iPhone\n\nOn Mon, Nov 16, 2026, Alex wrote:\n> hi")
    assert (new, sig) == ("ok", "Sent from my iPhone")


def test_sign_offs_are_not_signatures() -> None:
    assert split_body("thanks, maria") == ("thanks, maria", "", "")
    assert split_body("i can't do this anymore\n\nthanks,\nmaria\n555-0101") == \
        ("i can't do this anymore\n\nthanks,\nmaria\n555-0101", "", "")
    new, _, sig = split_body("Sent from my phone at the ER, please call")
    assert new == "Sent from my phone at the ER, please call" and sig == ""


def test_crisis_footer_in_a_quoted_part_stays_out_of_new_text() -> None:
    for body in (
        "ok\n\n> " + FOOTER.replace("\n", "\n> "),
        "ok\n\nFrom: Alex Morgan\nSent: Monday\nTo: Jordan\n\n" + FOOTER,
        "ok\n\nOn Mon, Nov 16, 2026 at 9:00 AM Alex wrote:\n\n" + FOOTER,
    ):
        m = parse(mail(body))
        assert m.new_text == "ok" and "988" in m.quoted_text


def test_crlf_and_cr_line_endings() -> None:
    assert split_body("a\r\nb\rc") == ("a\nb\nc", "", "")


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(("text", "language"), [
    ("no puedo ir a la cita de hoy, mi hija está enferma", "es"),
    ("i can't make it today, my daughter is sick", "en"),
    ("Hola Alex, sorry, no puedo ir hoy a la cita porque mi hijo está enfermo y tengo que cuidarlo", "es"),
    ("Hi, I need to reschedule my appointment because I have work, gracias", "en"),
    ("ok", ""),
    ("12345 !!!", ""),
])
def test_language(text: str, language: str) -> None:
    assert detect_language(text) == language
    assert parse(mail(text, subject="x")).language == language


def test_language_falls_back_to_the_subject() -> None:
    assert parse(mail("", subject="cita de mañana")).language == "es"


# --------------------------------------------------------------------------- fallbacks and robustness


def test_stdlib_fallback_when_mail_parser_fails() -> None:
    raw = mail("can we move my appointment to thursday?")
    with mock.patch("triage.parse.mailparser.parse_from_bytes", side_effect=UnicodeError("boom")):
        m = parse(raw)
    assert m.parser == "stdlib" and "parser-fallback: UnicodeError" in m.defects
    assert m.new_text == "can we move my appointment to thursday?" and m.sender == parse(raw).sender
    assert m.date == parse(raw).date and m.message_id == "<m1@example.com>"


def test_stdlib_compat32_when_the_default_policy_fails() -> None:
    import email as stdlib_email

    real = stdlib_email.message_from_bytes
    calls = []

    def flaky(data: bytes, *args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("policy"))
        if len(calls) == 1:
            raise ValueError("default policy failed")
        return real(data, *args, **kwargs)

    with mock.patch("triage.parse.mailparser.parse_from_bytes", side_effect=RecursionError()), \
            mock.patch("triage.parse.email.message_from_bytes", side_effect=flaky):
        m = parse(mail("hello there"))
    assert m.parser == "stdlib" and m.new_text == "hello there" and len(calls) == 2
    assert m.defects[:2] == ("parser-fallback: RecursionError", "stdlib-failed: ValueError")


def test_when_everything_fails_a_message_still_comes_back() -> None:
    raw = b"From: a@example.com\r\n\r\nhi"
    with mock.patch("triage.parse.mailparser.parse_from_bytes", side_effect=MemoryError()), \
            mock.patch("triage.parse.email.message_from_bytes", side_effect=TypeError("nope")):
        m = parse(raw)
    assert isinstance(m, Message) and m.size == len(raw) and m.new_text == "" and m.sender is None
    assert m.defects == ("parser-fallback: MemoryError", "stdlib-failed: TypeError",
                         "stdlib-failed: TypeError")


def test_deeply_nested_multiparts_do_not_raise() -> None:
    depth = 400
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth))
    m = parse(crlf("From: a@example.com\n" + head + "Content-Type: text/plain\n\ndeep\n"))
    assert isinstance(m, Message)


def test_never_raises_on_mutated_mail() -> None:
    msg = EmailMessage()
    msg["From"] = "=?utf-8?q?Mar=C3=ADa?= <maria@example.com>"
    msg["To"] = "alex.morgan@dmh.example.org, b@example.net"
    msg["Subject"] = "¿cita mañana?"
    msg["Date"] = "Mon, 16 Nov 2026 09:00:00 -0800"
    msg["Message-ID"] = "<seed@example.com>"
    msg.set_content("hola\n\nOn Mon, Nov 16, 2026 at 9:00 AM Alex wrote:\n> ok\n-- \nMaría\n")
    msg.add_alternative("<p>hola</p><blockquote>ok</blockquote>", subtype="html")
    msg.add_attachment("привет".encode(), maintype="application", subtype="octet-stream", filename="файл.bin")
    seed = bytes(msg)
    rng = random.Random(0)
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
        assert isinstance(m, Message) and m.size == len(data)
        assert all(isinstance(d, str) for d in m.defects)


def test_parse_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    parse(crlf("From: a@example.com\nSubject: =?utf-8?b?!!!?=\nContent-Type: multipart/weird; boundary=b\n\n"
               "--b\nContent-Type: text/x-unknown\n\nprivate words\n--b--\n"))
    assert [r for r in caplog.records if "private" in r.getMessage() or r.name.startswith(("mailparser",
                                                                                             "triage"))] == []


def test_non_bytes_input_does_not_raise() -> None:
    assert parse(bytearray(b"From: a@example.com\r\n\r\nhi")).new_text == "hi"
    assert parse(memoryview(b"From: a@example.com\r\n\r\nhi")).new_text == "hi"


def test_attachment_payload_is_not_kept_as_base64_text() -> None:
    payload = base64.b64encode(b"secret clinical pdf bytes" * 100).decode()
    raw = crlf("From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
               "--b\nContent-Type: text/plain\n\nsee attached\n"
               "--b\nContent-Type: application/pdf; name=r.pdf\nContent-Transfer-Encoding: base64\n\n"
               + payload + "\n--b--\n")
    m = parse(raw)
    assert m.attachments[0].size == 2500 and payload[:40] not in repr(m)
