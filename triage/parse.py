"""bytes -> Message. Never raises: what cannot be read becomes a defect.

mail-parser reads the message; when it fails (it has crashed on odd attachment
names and charsets) the standard library's parser takes over, and when even
that fails an empty Message with the defect is returned. The body is split into
what the sender wrote now, the quoted history, and the signature, so later
stages judge the client's own words and never a quoted crisis or a clinician's
crisis-line footer.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message as StdMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import mailparser

from triage.values import Address, Attachment, Message

KEPT_HEADERS = ("auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply", "x-autorespond",
                "x-auto-response-suppress", "return-path", "content-language", "x-mailer", "in-reply-to",
                "references", "content-type")


def parse(raw: bytes) -> Message:
    """Parse one message; bad mail yields a Message with defects, never an exception."""
    defects: list[str] = []
    parser = "mail-parser"
    try:
        msg = mailparser.parse_from_bytes(raw).message
    except Exception as exc:
        parser = "stdlib"
        defects.append(f"parser-fallback: {type(exc).__name__}")
        try:
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        except Exception as exc2:  # the stdlib parser is lenient, but a bug must not stop the batch
            return _empty(raw, [*defects, f"unreadable: {type(exc2).__name__}"])
    try:
        return _build(raw, msg, defects, parser)
    except Exception as exc:
        return _empty(raw, [*defects, f"unreadable: {type(exc).__name__}"])


def _empty(raw: bytes, defects: list[str]) -> Message:
    return Message(message_id="", sender=None, reply_to=(), to=(), cc=(), date=None, subject="", new_text="",
                   quoted_text="", signature="", attachments=(), headers={}, defects=tuple(defects),
                   size=len(raw), parser="none")


# --------------------------------------------------------------------------- headers


_SURROGATE = re.compile("[\udc80-\udcff]")  # undecodable 8-bit bytes in a header


def _header(msg: StdMessage, name: str, defects: list[str]) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    return " ".join(_decode_value(value, name.lower(), defects).split())


def _decode_value(value: Any, name: str, defects: list[str]) -> str:
    """A header as text: RFC 2047 words decoded, raw 8-bit bytes read as UTF-8 or else cp1252."""
    try:
        parts = decode_header(value) if not isinstance(value, str) else decode_header(_header_raw(value))
    except Exception:
        defects.append(f"undecodable-header: {name}")
        return _header_raw(value)
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        if charset in (None, "unknown-8bit") and any(b > 127 for b in chunk):
            defects.append(f"8bit-header: {name}")
            out.append(_fallback_decode(chunk))
            continue
        try:
            out.append(chunk.decode(charset or "ascii"))
        except (LookupError, UnicodeDecodeError):
            defects.append(f"bad-charset: {name}")
            out.append(_fallback_decode(chunk))
    # decode_header drops the spaces between plain and encoded parts; join as email.header does
    text = "".join(out) if len(out) == 1 else str(make_header([(p.encode("utf-8"), "utf-8") for p in out]))
    return text


def _addresses(msg: StdMessage, name: str, defects: list[str]) -> tuple[Address, ...]:
    values = msg.get_all(name) or []
    out = []
    try:
        pairs = getaddresses([_header_raw(v) if isinstance(v, str) else _decode_value(v, name.lower(), defects)
                              for v in values])
    except Exception:
        defects.append(f"bad-address: {name.lower()}")
        return ()
    for display, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if addr and "@" not in addr:
            defects.append(f"bad-address: {name.lower()}")
            continue
        if not addr and not display:
            continue
        out.append(Address(_decode_value(display, name.lower(), defects).strip(), addr))
    return tuple(out)


def _header_raw(value: Any) -> str:
    text = str(value)
    if _SURROGATE.search(text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _decode_words(text: str) -> str:
    try:
        return str(make_header(decode_header(text))).strip()
    except Exception:
        return text.strip()


def _date(msg: StdMessage, defects: list[str]) -> datetime | None:
    value = msg.get("Date")
    if not value:
        return None
    try:
        d = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        defects.append("bad-date")
        return None
    if d is None:
        defects.append("bad-date")
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


_MSGID = re.compile(r"<[^<>\s]+>")


def _ids(text: str) -> tuple[str, ...]:
    return tuple(_MSGID.findall(text))


# --------------------------------------------------------------------------- body


def _build(raw: bytes, msg: StdMessage, defects: list[str], parser: str) -> Message:
    defects.extend(type(d).__name__ for d in msg.defects)
    headers = {}
    for name in KEPT_HEADERS:
        if name in msg:
            headers[name] = _header(msg, name, defects)[:1000]
    senders = _addresses(msg, "From", defects)
    plain: list[str] = []
    html: list[str] = []
    nested: list[str] = []
    attachments: list[Attachment] = []
    _walk(msg, plain, html, nested, attachments, defects, top=True)
    if plain:
        text = "\n".join(plain)
    elif html:
        text = "\n".join(html)
    else:
        text = ""
    new, quoted, signature = split_body(text)
    if nested:
        quoted = "\n".join(filter(None, [quoted, *nested]))
    return Message(
        message_id=_header(msg, "Message-ID", defects).strip(),
        sender=senders[0] if senders else None,
        reply_to=_addresses(msg, "Reply-To", defects),
        to=_addresses(msg, "To", defects),
        cc=_addresses(msg, "Cc", defects),
        date=_date(msg, defects),
        subject=_header(msg, "Subject", defects),
        new_text=new, quoted_text=quoted, signature=signature,
        attachments=tuple(attachments), headers=headers,
        in_reply_to=(_ids(headers.get("in-reply-to", "")) or ("",))[0],
        references=_ids(headers.get("references", "")),
        language=detect_language(new),
        defects=tuple(dict.fromkeys(defects)), size=len(raw), parser=parser,
    )


def _walk(part: StdMessage, plain: list[str], html: list[str], nested: list[str], attachments: list[Attachment],
          defects: list[str], *, top: bool) -> None:
    ctype = part.get_content_type()
    if part.is_multipart():
        if ctype == "message/rfc822" or (not top and ctype.startswith("message/")):
            for sub in part.get_payload() or []:
                if isinstance(sub, StdMessage):
                    inner_plain: list[str] = []
                    inner_html: list[str] = []
                    _walk(sub, inner_plain, inner_html, nested, attachments, defects, top=False)
                    nested.append("\n".join(inner_plain or inner_html))
            return
        for sub in part.get_payload() or []:
            if isinstance(sub, StdMessage):
                _walk(sub, plain, html, nested, attachments, defects, top=top)
        return
    disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
    filename = _filename(part, defects)
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        text = _text(part, defects)
        if ctype == "text/plain":
            plain.append(text)
        else:
            html.append(html_to_text(text))
        return
    payload = part.get_payload(decode=False)
    size = _decoded_size(part, payload)
    attachments.append(Attachment(filename, ctype, size, disposition == "inline"))


def _filename(part: StdMessage, defects: list[str]) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        defects.append("bad-attachment-name")
        return "attachment"
    return _decode_words(_header_raw(name))


def _decoded_size(part: StdMessage, payload: Any) -> int:
    # Estimated from the encoded length so a 25 MB attachment is never decoded just to be measured.
    if not isinstance(payload, str):
        return 0
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte == "base64":
        return len(payload.replace("\n", "").replace("\r", "")) * 3 // 4
    return len(payload)


def _text(part: StdMessage, defects: list[str]) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        defects.append("undecodable-body")
        data = None
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = (part.get_content_charset() or "utf-8").lower()
    try:
        text = data.decode(charset)
    except LookupError:
        defects.append(f"bad-charset: {charset[:40]}")
        text = _fallback_decode(data)
    except UnicodeDecodeError:
        defects.append(f"bad-bytes-for-charset: {charset[:40]}")
        text = _fallback_decode(data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fallback_decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


class _HtmlText(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag == "blockquote":
            self.quote += 1
            self.out.append("\n")
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self.out.append("\n")
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.quote:
            # Quoted HTML becomes ">" lines, so the splitter treats it as history.
            data = "\n".join("> " + line if line.strip() else line for line in data.split("\n"))
        self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        return re.sub(r"<[^>]+>", " ", html)
    text = "".join(parser.out)
    lines = [" ".join(line.split()) if not line.startswith(">") else line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- quotes and signatures

_QUOTE_HEADERS = re.compile(
    r"^\s*(?:"
    r"On\s.{0,200}?wrote:\s*$"
    r"|El\s.{0,200}?escribi[óo]:\s*$"
    r"|Le\s.{0,200}?a\s+écrit\s*:\s*$"
    r"|-{2,}\s*(?:Original Message|Mensaje original|Forwarded message|Mensaje reenviado)\s*-{2,}\s*$"
    r"|Begin forwarded message:\s*$"
    r"|_{10,}\s*$"
    r")", re.IGNORECASE)
_OUTLOOK_FROM = re.compile(r"^\s*\**(?:From|De)\s*:\**\s+\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\**(?:Sent|Date|Enviado|Fecha|To|Para|Subject|Asunto)\s*:", re.IGNORECASE)
_WROTE_TAIL = re.compile(r"(?:wrote|escribi[óo])\s*:\s*$", re.IGNORECASE)
_SIG_DELIM = re.compile(r"^(?:-- ?|--|__)\s*$")
_MOBILE = re.compile(
    r"^\s*(?:Sent from my \w[\w ]*|Sent from (?:Outlook|Mail|Yahoo Mail)[\w ]*|Get Outlook for \w+"
    r"|Enviado desde mi \w[\w ]*|Sent via [\w ]+|Sent from Samsung[\w ]*)\s*\.?\s*$", re.IGNORECASE)


def split_body(text: str) -> tuple[str, str, str]:
    """(new text, quoted history, signature) of a plain-text body."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _quote_start(lines)
    head, tail = lines[:cut], lines[cut:]
    # Inline replies: quoted lines interleaved with new text stay in the new text, minus the ">" lines.
    if tail and _marked_quote(tail) and _unquoted_words(tail[1:]) >= 12:
        head = head + [line for line in tail if not line.lstrip().startswith(">")]
        tail = [line for line in tail if line.lstrip().startswith(">")]
    head, signature = _split_signature(head)
    return _clean(head), _clean(tail), _clean(signature)


_QUOTE_STARTS = ("on ", "el ", "le ", "-", "_", "begin forwarded")
_HEADER_STARTS = ("from:", "de:", "*from", "*de", "**from", "**de")


def _quote_start(lines: list[str]) -> int:
    """Index of the first line of quoted history (len(lines) when there is none).

    Cheap prefix tests come first: this runs on every line of every message."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] == ">":
            # A quote block after a "... wrote:" line, which may have wrapped onto two lines.
            if i > 0 and _WROTE_TAIL.search(lines[i - 1]):
                if i > 1 and lines[i - 2].strip().lower().startswith(("on ", "el ")):
                    return i - 2
                return i - 1
            return i
        low = stripped[:20].lower()
        if low.startswith(_QUOTE_STARTS):
            if _QUOTE_HEADERS.match(line):
                return i
            if (low.startswith(("on ", "el ")) and len(stripped) < 200 and i + 1 < len(lines)
                    and _WROTE_TAIL.search(lines[i + 1])):
                return i
        elif low.startswith(_HEADER_STARTS) and _is_header_block(lines, i):
            return i
    return len(lines)


def _marked_quote(tail: list[str]) -> bool:
    """True when the history is quoted with ">" (so new text may be interleaved with it); False for
    separator styles (Outlook's From:/Sent: block, "Original Message", a rule of underscores,
    forwarded mail), where everything below the separator is history."""
    head = [line for line in tail[:4] if line.strip()]
    return bool(head) and (head[0].lstrip().startswith(">") or (
        bool(_WROTE_TAIL.search(" ".join(head[:2]))) and any(x.lstrip().startswith(">") for x in head[1:])))


def _is_header_block(lines: list[str], i: int) -> bool:
    if i >= len(lines) or not _OUTLOOK_FROM.match(lines[i]):
        return False
    following = [x for x in lines[i + 1:i + 5] if x.strip()]
    return sum(1 for x in following if _OUTLOOK_NEXT.match(x)) >= 2


def _unquoted_words(lines: list[str]) -> int:
    return sum(len(line.split()) for line in lines if line.strip() and not line.lstrip().startswith(">")
               and not _QUOTE_HEADERS.match(line))


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    last = len(lines)
    while last and not lines[last - 1].strip():
        last -= 1
    window = max(0, last - 12)
    for i in range(window, last):
        if _SIG_DELIM.match(lines[i]):
            return lines[:i], lines[i + 1:]
    for i in range(last - 1, window - 1, -1):
        if _MOBILE.match(lines[i]):
            return lines[:i], lines[i:]
    return lines, []


def _clean(lines: list[str]) -> str:
    return "\n".join(lines).strip()


# --------------------------------------------------------------------------- language

_ES = frozenset("el la los las de que y en un una por para con no es mi me lo se del al está estoy pero "
                "porque cita hijo hija gracias usted necesito tengo quiero hoy mañana semana".split())
_EN = frozenset("the and to of a in is it you that for my on with this be are not have i me was can "
                "but so just your will appointment thanks please".split())
_WORD = re.compile(r"[a-záéíóúñü]+")


def detect_language(text: str) -> str:
    """"es", "en" or "" by a stop-word count: cheap, and enough to choose a template."""
    words = _WORD.findall(text[:1500].lower())
    if len(words) < 2:
        return ""
    es = sum(w in _ES for w in words)
    en = sum(w in _EN for w in words)
    if es == en == 0:
        return ""
    return "es" if es > en else "en"
