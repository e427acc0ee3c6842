"""bytes -> Message. Pure (no I/O, no logging) and it never raises: what cannot be read becomes a defect.

How a message is read:

1. mail-parser (``mailparser.parse_from_bytes``) parses the bytes. Its stdlib message tree is what the
   rest of this module walks, and its defect categories are kept. Its decoded texts and attachment
   payloads are *not* used: its text list mixes the top-level body with the text of attached
   messages, and it has crashed on odd charsets and attachment names and once corrupted
   quoted-printable attachments. Walking the tree ourselves keeps one code path for both parsers.
2. When mail-parser raises (any Exception), or walking its tree fails, the standard library parses the
   bytes again (``email.policy.default``; ``compat32`` when that raises or cannot read a part) and
   ``parser`` is "stdlib"; the defects say why ("parser-fallback: <ExceptionType>").
3. When even that fails, an empty Message (``parser`` "stdlib") lists the defects.

The body is split into what the sender wrote now (``new_text``), the quoted history (``quoted_text``)
and the signature, so later stages judge the client's own words and never a quoted crisis or a
clinician's crisis-line footer, while a client's inline answers between quoted lines are kept.

Everything here is linear in the size of the message; regular expressions are compiled once.
"""

from __future__ import annotations

import binascii
import codecs
import dataclasses
import email
import email.policy
import logging
import re
from datetime import UTC, datetime
from email.message import Message as StdMessage
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser

import mailparser

from triage.values import Address, Attachment, Message

__all__ = ["KEPT_HEADERS", "detect_language", "html_to_text", "parse", "split_body"]

# mail-parser logs pieces of messages (header values, content types) as warnings; parse logs no content,
# in whichever process it runs. (triage.logs does the same when it sets up logging.)
logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)

# Headers later stages read (automated-mail detection, threading), lower-case, in Message.headers order.
KEPT_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply", "x-autorespond",
    "x-auto-response-suppress", "return-path", "content-language", "x-mailer", "in-reply-to", "references",
)
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to"})
_OTHER_HEADERS = frozenset({"subject", "date", "message-id"})
_WANTED = frozenset(KEPT_HEADERS) | _ADDRESS_HEADERS | _OTHER_HEADERS

HEADER_CAP = 1000  # characters kept of each value in Message.headers
MAX_TEXT = 5_000_000  # bytes of one text part that are read; a longer part is cut, with a defect
MAX_PARTS = 1000  # MIME parts walked; more are skipped, with a defect
MAX_DEPTH = 30  # nesting of multiparts and attached messages that is followed
MAX_DEFECTS = 60
MAX_REPAIRS = 3  # multiparts with a wrong boundary that are re-read (each re-read parses the part again)


def parse(raw: bytes) -> Message:
    """Parse one message. Bad mail yields a Message listing its defects, never an exception."""
    data = raw if isinstance(raw, bytes) else _as_bytes(raw)
    defects: list[str] = []
    try:
        reader = mailparser.parse_from_bytes(data)
        tree = reader.message
        if tree is None:
            raise ValueError("mail-parser returned no message")
        mp_defects = sorted(str(name) for name in (getattr(reader, "defects_categories", None) or ()))
    except Exception as exc:
        defects.append(f"parser-fallback: {type(exc).__name__}")
    else:
        try:
            return _build(data, tree, [*mp_defects], "mail-parser")
        except Exception as exc:  # walking mail-parser's tree failed: let the stdlib read the bytes afresh
            defects.append(f"parser-fallback: {type(exc).__name__}")
    partial: Message | None = None
    for policy in (email.policy.default, email.policy.compat32):
        try:
            tree = email.message_from_bytes(data, policy=policy)
            message = _build(data, tree, [*defects], "stdlib")
        except Exception as exc:
            defects.append(f"stdlib-failed: {type(exc).__name__}")
            continue
        if policy is email.policy.compat32 or not any(d.startswith("bad-part") for d in message.defects):
            return message
        # The default policy's header parser raised on a part (it has bugs compat32 does not share).
        partial = message
        defects.append("stdlib-failed: bad-part")
    if partial is not None:
        return partial
    return Message(message_id="", sender=None, reply_to=(), to=(), cc=(), date=None, subject="",
                   new_text="", quoted_text="", signature="", attachments=(), headers={},
                   defects=tuple(defects[:MAX_DEFECTS]), size=len(data), parser="stdlib")


def _as_bytes(raw: object) -> bytes:
    """bytearray, memoryview (or str) as bytes; anything else is a caller's bug, read as b""."""
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    try:
        return bytes(raw)  # type: ignore[call-overload]
    except Exception:
        return b""


# --------------------------------------------------------------------------- the message


def _build(raw: bytes, tree: StdMessage, defects: list[str], parser: str) -> Message:
    found: dict[str, list[str]] = {}
    for name, value in tree.raw_items():
        key = name.lower()
        if key in _WANTED:
            found.setdefault(key, []).append(value if isinstance(value, str) else str(value))

    def text(key: str) -> str:
        values = found.get(key)
        return _header_text(values[0], key, defects) if values else ""

    headers = {key: text(key)[:HEADER_CAP] for key in KEPT_HEADERS if key in found}
    senders = _addresses(found.get("from"), "from", defects)

    body = _Body(defects)
    body.walk(tree)
    new_text, quoted_text, signature = split_body(body.top.text())
    nested = "\n\n".join(filter(None, (sink.text().strip() for sink in body.nested)))
    if nested:
        quoted_text = f"{quoted_text}\n\n{nested}" if quoted_text else nested

    subject = text("subject")
    in_reply_to = headers.get("in-reply-to", "")
    ids = _MSGID.findall(in_reply_to)
    references = tuple(_MSGID.findall(text("references"))) if "references" in found else ()
    message = Message(
        message_id=text("message-id").strip()[:HEADER_CAP],
        sender=senders[0] if senders else None,
        reply_to=_addresses(found.get("reply-to"), "reply-to", defects, keep_empty=False),
        to=_addresses(found.get("to"), "to", defects, keep_empty=False),
        cc=_addresses(found.get("cc"), "cc", defects, keep_empty=False),
        date=_date(found.get("date"), defects),
        subject=subject,
        new_text=new_text,
        quoted_text=quoted_text,
        signature=signature,
        attachments=tuple(body.attachments),
        headers=headers,
        in_reply_to=ids[0] if ids else in_reply_to.strip(),
        references=references,
        language=detect_language(new_text) or detect_language(subject),
        defects=tuple(dict.fromkeys(defects))[:MAX_DEFECTS],
        size=len(raw),
        parser=parser,
    )
    return _valid_unicode(message)


def _valid_unicode(message: Message) -> Message:
    """The Message with every string encodable as UTF-8. A few codecs (utf-7) and raw header bytes can
    leave lone surrogates, which a database or JSON encoder would refuse later; they become "?"."""

    def valid(text: str) -> bool:
        if text.isascii():  # O(1) in CPython: the common case costs nothing
            return True
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True

    def fix(text: str) -> str:
        return text if valid(text) else text.encode("utf-8", "replace").decode("utf-8")

    m = message
    addresses = (*m.reply_to, *m.to, *m.cc, *((m.sender,) if m.sender else ()))
    strings = (m.message_id, m.subject, m.new_text, m.quoted_text, m.signature, m.in_reply_to, *m.references,
               *m.defects, *m.headers.values(), *(a.filename for a in m.attachments),
               *(a.content_type for a in m.attachments), *(a.name for a in addresses),
               *(a.email for a in addresses))
    if all(map(valid, strings)):
        return message

    def address(a: Address) -> Address:
        return Address(fix(a.name), fix(a.email))

    return dataclasses.replace(
        message,
        message_id=fix(message.message_id),
        sender=address(message.sender) if message.sender else None,
        reply_to=tuple(map(address, message.reply_to)),
        to=tuple(map(address, message.to)),
        cc=tuple(map(address, message.cc)),
        subject=fix(message.subject),
        new_text=fix(message.new_text),
        quoted_text=fix(message.quoted_text),
        signature=fix(message.signature),
        attachments=tuple(Attachment(fix(a.filename), fix(a.content_type), a.size, a.is_inline)
                          for a in message.attachments),
        headers={k: fix(v) for k, v in message.headers.items()},
        in_reply_to=fix(message.in_reply_to),
        references=tuple(map(fix, message.references)),
        defects=tuple(map(fix, message.defects)),
    )


# --------------------------------------------------------------------------- headers

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\r\n]*)\?=")
_MSGID = re.compile(r"<[^<>\s]+>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _header_text(value: str, name: str, defects: list[str]) -> str:
    """A header value as one line of text: 8-bit bytes and RFC 2047 words decoded, whitespace collapsed."""
    if not value.isascii():
        value = _decode_8bit(value, name, defects)
    if "=?" in value:
        value = _decode_words(value, name, defects)
    return " ".join(value.split())


def _decode_8bit(value: str, name: str, defects: list[str]) -> str:
    # The parsers keep raw 8-bit header bytes as surrogate escapes. UTF-8 (RFC 6532) is fine;
    # anything else is a guess and a defect.
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return value.encode("utf-8", "replace").decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        defects.append(f"undecodable-header: {name}")
        return _guess(data)


def _decode_words(value: str, name: str, defects: list[str]) -> str:
    """Decode RFC 2047 encoded words, leniently (also inside quoted strings, where mailers put them)."""
    out: list[str] = []
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos:m.start()]
        if not (pos and not between.strip()):  # whitespace between two encoded words is not text
            out.append(between)
        charset, encoding, payload = m.groups()
        try:
            if encoding in "Bb":
                data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
            else:
                data = binascii.a2b_qp(payload.encode("ascii", "surrogateescape"), header=True)
        except (binascii.Error, ValueError):
            defects.append(f"undecodable-header: {name}")
            out.append(m.group())
        else:
            out.append(_decode_bytes(data, charset.split("*", 1)[0], defects))
        pos = m.end()
    out.append(value[pos:])
    return "".join(out)


_ADDR = r"[^<>\s@,;:\"()\\\[\]]+@[^<>\s@,;:\"()\\\[\]]+"
_SIMPLE_ADDRESS = re.compile(  # "Name" <a@b>, Name <a@b>, a@b: the common forms
    rf"\s*(?:\"([^\"\\]*)\"|([^\"<>,;:()\\@\[\]]*?))\s*<\s*({_ADDR})\s*>\s*|\s*({_ADDR})\s*")
_VALID_ADDRESS = re.compile(_ADDR)


def _addresses(values: list[str] | None, name: str, defects: list[str], *,
               keep_empty: bool = True) -> tuple[Address, ...]:
    """The addresses of an address header; garbage entries are skipped with a defect.

    With ``keep_empty`` (From) a header that holds no usable address still yields one Address
    with its display text and email "" so the sender is not lost."""
    if not values:
        return ()
    out: list[Address] = []
    bad = False
    for value in values:
        if not value.isascii():
            value = _decode_8bit(value, name, defects)
        value = _FOLD.sub("", value)
        simple = _SIMPLE_ADDRESS.fullmatch(value)
        if simple:  # the common case, without the stdlib's slower tokenizer
            display = simple.group(1) or simple.group(2) or ""
            pairs = [(display, simple.group(3) or simple.group(4))]
        else:
            try:
                pairs = getaddresses([value])
            except Exception:
                pairs, bad = [], True
        for display, addr in pairs:
            addr = addr.strip().strip("<>").lower()
            if "=?" in display:
                display = " ".join(_decode_words(display, name, defects).split())
            display = display.strip()
            if addr and _VALID_ADDRESS.fullmatch(addr):
                out.append(Address(display, addr))
            elif addr or display:
                bad = True
    if bad:
        defects.append(f"bad-address: {name}")
        if not out and keep_empty:
            return (Address(" ".join(_header_text(values[0], name, defects).split())[:HEADER_CAP], ""),)
    return tuple(out)


def _date(values: list[str] | None, defects: list[str]) -> datetime | None:
    if not values:
        return None
    try:
        when = parsedate_to_datetime(_FOLD.sub("", values[0]).strip())
    except Exception:  # ValueError, TypeError, IndexError, OverflowError: bad or absurd dates
        when = None
    if when is None:
        defects.append("bad-date")
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # "-0000": time in an unknown zone, read as UTC


# --------------------------------------------------------------------------- charsets

# Names mail uses for charsets Python knows under a wider or other name.
_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874", "x-sjis": "shift_jis", "ks_c_5601-1987": "cp949",
    # What Windows mailers label Latin-1 is nearly always windows-1252 (curly quotes in 0x80-0x9f).
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "utf-8", "ascii": "utf-8",  # 8-bit bytes under an ASCII label are read as UTF-8 first
}


@lru_cache(maxsize=256)
def _codec(charset: str) -> str | None:
    """The Python codec for a MIME charset name, or None when there is no such text encoding."""
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    # Refuse bytes-to-bytes codecs (base64_codec, zlib_codec, rot13...) and escape codecs: not charsets.
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "unicode_escape", "raw_unicode_escape",
                           "punycode", "idna", "undefined"})


def _decode_bytes(data: bytes, charset: str | None, defects: list[str]) -> str:
    """Bytes in their declared charset; an unknown or wrong charset is recorded and guessed around."""
    if charset:
        codec = _codec(charset)
        if codec is None:
            defects.append(f"bad-charset: {charset.strip()[:40]}")
        else:
            try:
                return data.decode(codec)
            except (UnicodeError, LookupError, ValueError):
                if codec == "cp1252":  # labelled Latin-1 and holding a byte windows-1252 leaves undefined
                    return data.decode("latin-1")
                defects.append(f"charset-mismatch: {charset.strip()[:40]}")
    elif data.isascii():
        return data.decode("ascii")
    return _guess(data)


_ASCII_BYTES = bytes(range(128))


def _guess(data: bytes) -> str:
    """Bytes of an unknown charset: UTF-8; or UTF-8 with replacement characters when most of the 8-bit
    bytes are good UTF-8 and only a few are not; else Latin-1 (read as windows-1252, its Windows
    superset, and as ISO-8859-1 for the few bytes 1252 leaves undefined)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    high = len(data.translate(None, _ASCII_BYTES))  # 8-bit bytes, counted in C
    if text.count("\ufffd") * 4 < high:
        return text
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --------------------------------------------------------------------------- MIME structure


class _Sink:
    """Where the text of one message goes: the top-level message, or an attached one."""

    __slots__ = ("index", "parent", "parts", "size")

    def __init__(self, parent: _Sink | None = None, index: int | None = None) -> None:
        # (alternative group or None, is HTML, text) of each text part, in document order
        self.parts: list[tuple[int | None, bool, str]] = []
        self.parent = parent
        self.index = index  # of this attached message in the attachment list
        self.size = 0  # bytes of the attached message's decoded parts, its size as an attachment

    def text(self) -> str:
        """The text parts in order; of each multipart/alternative group only the plain text, or its HTML
        when the plain text is empty or missing. HTML outside any group is kept too (converted)."""
        if all(group is None and not is_html for group, is_html, _ in self.parts):
            return "\n".join(text for _, _, text in self.parts)  # the common case: plain parts only
        has_plain = {group for group, is_html, text in self.parts if not is_html and text.strip()}
        out = []
        for group, is_html, text in self.parts:
            if group is None:
                out.append(html_to_text(text) if is_html else text)
            elif group in has_plain:
                if not is_html:
                    out.append(text)
            elif is_html:
                out.append(html_to_text(text))
        return "\n".join(out)

    def add_size(self, size: int) -> None:
        sink: _Sink | None = self
        while sink is not None:
            sink.size += size
            sink = sink.parent


class _Body:
    """Walks the MIME tree: top-level text, text of attached messages, attachment metadata."""

    def __init__(self, defects: list[str]) -> None:
        self.defects = defects
        self.top = _Sink()
        self.nested: list[_Sink] = []  # attached (forwarded) messages, in order
        self.attachments: list[Attachment] = []
        self.groups = 0
        self.repairs = 0

    def walk(self, tree: StdMessage) -> None:
        # An explicit stack, not recursion: the depth of a hostile message is the sender's choice.
        # Each entry: the part, its depth, where its text goes, its multipart/alternative group.
        stack: list[tuple[StdMessage, int, _Sink, int | None]] = [(tree, 0, self.top, None)]
        parts = 0
        while stack:
            part, depth, sink, group = stack.pop()
            parts += 1
            if parts > MAX_PARTS:
                self.defects.append("too-many-parts")
                break
            self.defects.extend(type(d).__name__ for d in getattr(part, "defects", ()))
            try:
                visited = self._visit(part, sink, group)
            except Exception as exc:  # one unreadable part must not lose the rest of the message
                self.defects.append(f"bad-part: {type(exc).__name__}")
                continue
            if visited is None:
                continue
            kids, child_sink, child_group = visited
            if depth >= MAX_DEPTH:
                self.defects.append("too-deep")
                continue
            stack.extend((kid, depth + 1, child_sink, child_group) for kid in reversed(kids)
                         if isinstance(kid, StdMessage))
        for sink in self.nested:
            if sink.index is not None:
                old = self.attachments[sink.index]
                self.attachments[sink.index] = dataclasses.replace(old, size=sink.size)

    def _visit(self, part: StdMessage, sink: _Sink,
               group: int | None) -> tuple[list, _Sink, int | None] | None:
        """Record a leaf part; for a container, return its children, where their text goes and their
        multipart/alternative group."""
        ctype = part.get_content_type()
        raw_ct = str(part.get("content-type") or "")
        raw_cd = str(part.get("content-disposition") or "")
        disposition = raw_cd.split(";", 1)[0].strip().lower()
        has_name = "name" in raw_ct.lower() or "name" in raw_cd.lower()
        if part.is_multipart():
            kids = part.get_payload()
            if ctype.startswith("message/"):
                # An attached or forwarded message: its text is history, never the sender's new words.
                filename = self._filename(part, has_name)
                self.attachments.append(Attachment(filename, ctype, 0, disposition == "inline"))
                child = _Sink(sink, len(self.attachments) - 1)
                self.nested.append(child)
                return kids, child, None
            if disposition == "attachment" and sink is self.top:
                child = _Sink(sink)  # an attached multipart: its text is not the body either
                self.nested.append(child)
                return kids, child, None
            if ctype == "multipart/alternative":
                self.groups += 1
                return kids, sink, self.groups
            return kids, sink, group
        if ctype.startswith("multipart/"):
            # A multipart whose boundary never appeared: the parser left its body as one string.
            repaired = _repair_multipart(part) if self.repairs < MAX_REPAIRS else None
            if repaired is not None:
                self.repairs += 1
                self.defects.append("boundary-repaired")
                return repaired.get_payload(), sink, group
            ctype = "text/plain"  # read it as text rather than lose what the sender wrote
        filename = self._filename(part, has_name)
        if ctype in ("text/plain", "text/html") and not filename and disposition != "attachment":
            text, size = self._text(part, raw_ct)
            sink.parts.append((group, ctype == "text/html", text))
            sink.add_size(size)
            return None
        is_inline = disposition == "inline" or (not disposition and part.get("content-id") is not None)
        size = _payload_size(part)
        self.attachments.append(Attachment(filename, ctype, size, is_inline))
        sink.add_size(size)
        return None

    def _filename(self, part: StdMessage, has_name: bool) -> str:
        if not has_name:
            return ""
        try:
            name = part.get_filename() or ""  # RFC 2231 (filename*=utf-8''...) is decoded here
        except Exception:
            self.defects.append("bad-attachment-name")
            return ""
        name = str(name)
        if not name.isascii():
            name = _decode_8bit(name, "attachment-name", self.defects)
        if "=?" in name:  # RFC 2047 in a parameter: not the standard, but what many mailers send
            name = _decode_words(name, "attachment-name", self.defects)
        return " ".join(name.split())[:255]

    def _text(self, part: StdMessage, raw_ct: str) -> tuple[str, int]:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            return "", 0
        size = len(data)
        if size > MAX_TEXT:
            self.defects.append("body-truncated")
            data = data[:MAX_TEXT]
        text = _decode_bytes(data, _charset(part, raw_ct), self.defects)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text, size


def _raw_payload(part: StdMessage) -> str | None:
    """A leaf part's payload as the parser stored it (8-bit bytes as surrogate escapes). Read directly:
    get_payload() re-decodes it, which costs a copy of a large attachment and raises on odd charsets."""
    payload = getattr(part, "_payload", None)
    return payload if isinstance(payload, str) else None


_BOUNDARY_LINE = re.compile(r"^--([^\s\"]{1,70}?)(?:--)?[ \t\r]*$", re.MULTILINE)


def _repair_multipart(part: StdMessage) -> StdMessage | None:
    """Re-read a multipart whose declared boundary is missing, with the boundary its body does use
    (the first "--token" line), or None when there is none."""
    payload = _raw_payload(part)
    if payload is None:
        return None
    m = _BOUNDARY_LINE.search(payload)
    if m is None:
        return None
    repaired = email.message_from_string(
        f'Content-Type: multipart/mixed; boundary="{m.group(1)}"\n\n{payload}', policy=email.policy.compat32)
    kids = repaired.get_payload()
    return repaired if isinstance(kids, list) and kids else None


_CHARSET_PARAM = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


def _charset(part: StdMessage, raw_ct: str) -> str | None:
    """The charset parameter; a plain one is read directly, anything odd (RFC 2231) by the stdlib."""
    m = _CHARSET_PARAM.search(raw_ct)
    if m and "*" not in raw_ct:
        return m.group(1).lower()
    return part.get_content_charset() if "charset" in raw_ct.lower() else None


def _payload_size(part: StdMessage) -> int:
    """Size in bytes of the decoded payload, without decoding a large attachment.

    Base64 (nearly every attachment) is *estimated from the encoded length*: 3 bytes per 4 base64
    characters, less the padding, so a 25 MB attachment is measured in one pass of str.count and never
    decoded (mail-parser's own copy of the payload is not used: it re-encodes other encodings to base64
    and its attachment list does not line up with this walk). Other encodings are decoded when small
    and otherwise estimated from their encoded length."""
    payload = _raw_payload(part)
    if payload is None:
        return 0
    cte = str(part.get("content-transfer-encoding") or "").strip().lower()
    if cte == "base64":
        chars = len(payload) - sum(map(payload.count, ("\n", "\r", " ", "\t")))
        tail = payload[-8:].rstrip()
        padding = len(tail) - len(tail.rstrip("="))
        return max(0, chars * 3 // 4 - padding)
    if len(payload) <= 1_000_000:
        data = part.get_payload(decode=True)
        return len(data) if isinstance(data, bytes) else len(payload)
    if cte == "quoted-printable":
        return len(payload) - 2 * payload.count("=")
    return len(payload)


# --------------------------------------------------------------------------- HTML


class _HtmlText(HTMLParser):
    """HTML as readable text: block elements break lines, script/style dropped, blockquotes as "> " lines."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                        "ul", "ol", "hr", "pre", "section", "article", "header", "footer", "dl", "dt", "dd",
                        "address", "center", "form"})
    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.skip = 0
        self.quote = 0

    def newline(self, hard: bool = False) -> None:
        """End the current line. A block edge (soft) adds no empty line; a <br> (hard) may."""
        text = " ".join("".join(self.line).split())
        self.line = []
        if not text and not hard:
            return
        if self.quote:
            self.lines.append(("> " * self.quote + text).rstrip())
        else:
            self.lines.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "blockquote":
            self.newline()
            self.quote += 1
        elif tag == "br":
            self.newline(hard=True)
        elif tag in self.BLOCKS:
            self.newline()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.newline(hard=True)
        elif tag in self.BLOCKS:
            self.newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.newline()
            self.quote = max(0, self.quote - 1)
        elif tag in self.BLOCKS and tag != "br":
            self.newline()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.line.append(data)


_TAG = re.compile(r"<[^<>]*>")
_BLANK_RUN = re.compile(r"\n{3,}")
# A "<" with no ">" before the next "<": no tag a browser would see. html.parser (3.11) rescans the rest
# of the document from each such "<", which is quadratic ("<a <a <a ..." takes minutes), so they are
# escaped first. The lookahead stops at the next angle bracket: one linear pass.
_LONE_LT = re.compile(r"<(?=[^<>]*(?:<|\Z))")


def html_to_text(html: str) -> str:
    """Readable text of an HTML body; quoted (``<blockquote>``) content becomes "> " lines."""
    html = _LONE_LT.sub("&lt;", html)
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
        parser.newline()
        text = "\n".join(parser.lines)
    except Exception:  # html.parser is lenient, but a bug must not lose the body
        text = unescape(_TAG.sub("\n", html))
    text = text.replace("\xa0", " ")
    return _BLANK_RUN.sub("\n\n", text).strip()


# --------------------------------------------------------------------------- quotes and signatures

# "On Mon, Nov 16, 2026 at 9:00 AM Alex <a@example.org> wrote:" (and the Spanish "El ... escribió:"),
# on one line or wrapped over two. A date or an address must be in it: "On Monday I wrote:" is prose.
_ATTRIBUTION = re.compile(r"(?:on|el)\s.{0,300}?(?:wrote|escribi[óo])\s*:", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"(?:-{3,}\s*(?:original message|mensaje original|forwarded message|mensaje reenviado)\s*-{3,}"
    r"|begin forwarded message\s*:|inicio del mensaje reenviado\s*:)",
    re.IGNORECASE)
_DIGIT_OR_AT = re.compile(r"[0-9@]")
_WROTE = re.compile(r"\b(?:wrote|escribi[óo])\s*:$", re.IGNORECASE)
_HEADER_FROM = re.compile(r"\**(?:from|de)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"\**(?:sent|date|enviado|fecha)\s*:", re.IGNORECASE)
_RULE = re.compile(r"_{10,}")
_SIG_DELIMITER = re.compile(r"--[ \t]?")
_MOBILE = re.compile(
    r"(?:sent from my (?:iphone|ipad|galaxy|samsung|android|mobile|blackberry|pixel|huawei|motorola|"
    r"verizon|t-mobile|sprint|at&t|xiaomi|lg|oneplus|smartphone|windows)"
    r"|sent from (?:yahoo mail|mail for windows|outlook|aol|samsung)|sent via (?:the )?samsung"
    r"|sent with (?:proton ?mail|blackberry)"
    r"|get outlook for (?:ios|android)|obtener outlook para (?:ios|android)|descargar outlook para"
    r"|enviado desde mi (?:iphone|ipad|galaxy|samsung|android|tel[ée]fono|smartphone|dispositivo|huawei"
    r"|celular|m[óo]vil)"
    r"|enviado desde (?:yahoo|outlook|correo para windows))[^\n]{0,70}",
    re.IGNORECASE)
_LINK_ONLY = re.compile(r"<?https?://\S+>?")
_WORDISH = re.compile(r"\w")
_SIGNATURE_LINES = 12  # never more than this many trailing lines are cut off as a signature
# Lines that may start quoted history; one C-level search finds them, the checks below confirm them.
# It looks for "\n" then the line start, which is much faster than "^" with re.MULTILINE.
_CANDIDATE = re.compile(
    r"\n[ \t]*(?:>|(?:on|el)\s|-{3,}|_{10,}|begin forwarded|inicio del mensaje|\**(?:from|de)\s*:)",
    re.IGNORECASE)


def split_body(text: str) -> tuple[str, str, str]:
    """(new text, quoted history, signature) of a plain-text body."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    start, kind = _quote_start(lines, text)
    new_lines, quoted_lines = lines[:start], lines[start:]
    below: list[str] = []
    keep = 0
    if kind == "marked":
        new_lines, quoted_lines, below, keep = _interleaved(new_lines, quoted_lines)
    new_lines, signature = _split_signature(new_lines, keep)
    return _join(new_lines), _join(quoted_lines), _join(signature + below)


def _quote_start(lines: list[str], text: str | None = None) -> tuple[int, str]:
    """Where quoted history begins, and its kind: "marked" (">" lines, perhaps after an attribution,
    which may be interleaved with new text), "block" (a separator: all below it is history), or "none".

    ``text`` is "\\n".join(lines) when the caller has it."""
    marked = "\n" + ("\n".join(lines) if text is None else text)
    i, counted = 0, 1
    for m in _CANDIDATE.finditer(marked):
        # The line of the match, counted incrementally: the "\n"s before it, but for the one added.
        i += marked.count("\n", counted, m.start() + 1)
        counted = m.start() + 1
        s = lines[i].lstrip()
        c = s[0]
        if c == ">":
            return _attribution_before(lines, i), "marked"
        if c in "OoEe":
            end = _attribution_end(lines, i)
            if end is not None:
                return i, "marked" if _next_is_marked(lines, end + 1) else "block"
        elif c in "-BbIi":
            if _SEPARATOR.match(s):
                return i, "block"
        elif c == "_":
            following = _following(lines, i, 2)
            if _RULE.fullmatch(s.rstrip()) and any(_HEADER_FROM.match(x.lstrip()) for x in following):
                return i, "block"
        elif _HEADER_FROM.match(s) and any(_HEADER_NEXT.match(x.lstrip()) for x in _following(lines, i, 2)):
            return i, "block"
    return len(lines), "none"


def _following(lines: list[str], i: int, count: int) -> list[str]:
    """The next ``count`` non-blank lines after line i."""
    out = []
    for line in lines[i + 1:i + 1 + 3 * count]:
        if line.strip():
            out.append(line)
            if len(out) == count:
                break
    return out


def _attribution_end(lines: list[str], i: int) -> int | None:
    """The last line of an "On ... wrote:" attribution starting at line i (one or two lines), or None."""
    first = lines[i].strip()
    if len(first) > 300:
        return None
    if first.endswith(":") and _is_attribution(first):
        return i
    if i + 1 < len(lines):
        second = lines[i + 1].strip()
        if second.endswith(":") and len(second) < 300 and _is_attribution(f"{first} {second}"):
            return i + 1
    return None


def _is_attribution(text: str) -> bool:
    return bool(_ATTRIBUTION.fullmatch(text)) and bool(_DIGIT_OR_AT.search(text))


def _attribution_before(lines: list[str], i: int) -> int:
    """Line i starts a ">" block: include an attribution line just above it, even one without "On"
    ("Alex Morgan <a@example.org> wrote:"), and the line before that when the attribution wrapped."""
    j = i - 1
    if j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0:
        return i
    line = lines[j].strip()
    if len(line) < 300 and _WROTE.search(line):
        if j > 0 and _attribution_end(lines, j - 1) == j:
            return j - 1
        return j
    return i


def _next_is_marked(lines: list[str], j: int) -> bool:
    for line in lines[j:j + 3]:
        s = line.lstrip()
        if s:
            return s[0] == ">"
    return False


def _interleaved(head: list[str], tail: list[str]) -> tuple[list[str], list[str], list[str], int]:
    """Split a ">"-quoted tail into (new lines, quoted lines, a signature below the quote, how many of
    the new lines come before the last quoted line and so cannot be a signature).

    When nothing the sender wrote follows the quoted block (a top-posted reply), the whole tail is
    history, but for a signature the sender's mailer put below it. Otherwise the sender answered
    inline: their lines stay new text and only the ">" lines, attributions, and anything from a later
    separator on, go to the quoted text. Even a one-word answer ("yes") after a quoted question
    counts: a client's words must not be lost."""
    new: list[str] = []
    quoted: list[str] = []
    signature_at: int | None = None  # the "-- " line or mobile footer that starts the sender's signature
    signature_lines = 0
    signature_words = False
    substantive = False
    before_last_quote = 0
    i, n = 0, len(tail)
    while i < n:
        line = tail[i]
        s = line.lstrip()
        if s.startswith(">"):
            quoted.append(line)
            before_last_quote = len(new)
            if signature_at is not None:  # quoted text again: that was no signature but the sender's words
                substantive = substantive or signature_words
                signature_at = None
            i += 1
            continue
        if not s:
            (quoted if i + 1 < n and tail[i + 1].lstrip().startswith(">") else new).append(line)
            i += 1
            continue
        if s[0] in "OoEe":
            end = _attribution_end(tail, i)
            if end is not None:
                if not _next_is_marked(tail, end + 1):  # history without ">" marks: all of it is quoted
                    quoted.extend(tail[i:])
                    break
                quoted.extend(tail[i:end + 1])
                i = end + 1
                continue
        if len(s) < 300 and _WROTE.search(s) and _next_is_marked(tail, i + 1):  # "Alex <a@x.org> wrote:"
            quoted.append(line)
            i += 1
            continue
        if s[0] in "-_BbIiFfDd*" and _quote_start([line, *tail[i + 1:i + 4]]) == (0, "block"):
            quoted.extend(tail[i:])
            break
        if _wrapped_quote(tail, i):
            quoted.append(line)
            i += 1
            continue
        new.append(line)
        starts_signature = _SIG_DELIMITER.fullmatch(line.rstrip()) or _MOBILE.fullmatch(s.rstrip())
        if signature_at is None and starts_signature:
            signature_at, signature_lines, signature_words = i, 0, False
        elif signature_at is not None and signature_lines < _SIGNATURE_LINES:
            signature_lines += 1
            signature_words = signature_words or bool(_WORDISH.search(s))
        elif _WORDISH.search(s):
            substantive = True
        i += 1
    if substantive:
        return head + new, quoted, [], len(head) + before_last_quote
    if signature_at is None:
        return head, tail, [], 0
    if tail[signature_at].lstrip()[:1] == "-":  # the delimiter itself is not part of the signature
        return head, tail[:signature_at], tail[signature_at + 1:], 0
    return head, tail[:signature_at], tail[signature_at:], 0


def _wrapped_quote(lines: list[str], i: int) -> bool:
    """A short line between two ">" lines, continuing a long unfinished quoted line: the sender's mailer
    wrapped a quoted line and lost its ">" mark."""
    if i == 0 or i + 1 >= len(lines):
        return False
    before, line, after = lines[i - 1].rstrip(), lines[i].strip(), lines[i + 1].lstrip()
    return (before.lstrip().startswith(">") and after.startswith(">") and len(before) >= 65
            and before[-1] not in ".?!:;" and line[:1].islower() and len(line.split()) <= 4)


def _split_signature(lines: list[str], keep: int = 0) -> tuple[list[str], list[str]]:
    """Cut a signature off the end: after a "-- " (or "--") line, or from a mobile footer. Conservative:
    only within the last few lines (and not the first ``keep``), never a plain sign-off ("thanks, maria")."""
    last = len(lines)
    while last and not lines[last - 1].strip():
        last -= 1
    window = max(keep, last - _SIGNATURE_LINES - 1)
    for i in range(last - 1, window - 1, -1):  # the last delimiter: keep as much of the text as can be
        if lines[i][:1] == "-" and _SIG_DELIMITER.fullmatch(lines[i].rstrip()):
            return lines[:i], lines[i + 1:last]
    # A mobile footer, among the last three non-blank lines; links after it go with it.
    seen = 0
    for i in range(last - 1, window - 1, -1):
        s = lines[i].strip()
        if not s:
            continue
        if _MOBILE.fullmatch(s):
            end = i + 1
            while end < last and (not lines[end].strip() or _LINK_ONLY.fullmatch(lines[end].strip())):
                end += 1
            return lines[:i] + lines[end:last], lines[i:end]
        seen += 1
        if seen == 3:
            break
    return lines, []


_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def _join(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return _TRAILING_SPACE.sub("", text) if " \n" in text or "\t\n" in text else text


# --------------------------------------------------------------------------- language

# Stop words that are frequent in one language and rare in the other ("a", "no", "me", "he", "son"... are
# left out: they are common in both).
_ES = frozenset("""de la que el en y los del se las por un para con una su al lo como más mas pero sus ya
    este esta está esto porque cuando muy sobre también tambien hasta hay donde quien desde todo nos
    todos les ni eso ellos mí antes unos yo otro otra él tanto esa estos mucho nada muchos poco ella
    estar estas algo nosotros mi mis tú tu tus te ti usted ustedes estoy estás estamos están tengo tiene
    tenemos tienen puedo puede quiero necesito hoy mañana cita favor bien buenos buenas días dias tardes
    semana hijo hija gracias hola siento qué cómo ayuda hablar llamar voy vamos""".split())
_EN = frozenset("""the and to of in is it you that for my on with this be are not have was can but so
    just your will i i'm im it's at from they we she her his our what when how there if or an do don't
    dont did about would could should been has had am appointment thanks thank please today tomorrow week
    get got know want need feel feeling call back sorry hi hello going really""".split())
_PUNCTUATION = ".,;:!?¿¡()[]{}\"'«»“”‘’*_-"
_LANGUAGE_CHARS = 1500  # the start of the text is enough to tell


def detect_language(text: str) -> str:
    """ "es", "en" or "" (unclear) by counting the distinct stop words of each language: cheap, and
    enough to pick a template. Mixed text goes to the language with more of them."""
    if not text:
        return ""
    words = {w.strip(_PUNCTUATION) for w in set(text[:_LANGUAGE_CHARS].lower().split())}
    es = len(words & _ES)
    en = len(words & _EN)
    if es > en:
        return "es"
    if en > es:
        return "en"
    return ""
