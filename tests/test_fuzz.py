"""Fuzzing the parse-and-assess path over mutated real messages (the sample inbox): it never raises,
never runs past a bound, and always yields an assessment."""

from __future__ import annotations

import mailbox
import time
from datetime import date

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.assess import Context, assess_with
from triage.config import load_config
from triage.detect import Text, default_detector
from triage.parse import parse
from triage.registry import parse_csv

INBOX = mailbox.Maildir(ROOT / "examples" / "inbox", factory=None, create=False)
SAMPLES = [INBOX.get_bytes(k) for k in sorted(INBOX.keys())]
CONFIG = load_config(ROOT / "config.toml")
ALEX = CONFIG.clinician("alex.morgan@dmh.example.org")
CONTEXT = Context(ALEX, CONFIG.program(ALEX.program), CONFIG.department,
                  parse_csv((ROOT / "examples" / "registry.csv").read_text()))
DETECTOR = default_detector()
BOUND_SECONDS = 5.0  # per message; the largest sample takes milliseconds

# What goes wrong in real mail: bytes flipped, cut short, doubled, headers repeated or folded badly,
# boundaries lost, charsets named wrong, NULs and invalid UTF-8.
SPLICES = [b"\r\n", b"\n\n", b"\x00", b"\xff\xfe", b"=?utf-8?b?", b"?=", b"--", b"Content-Type: multipart/mixed; "
           b"boundary=\"x\"\n", b"Content-Transfer-Encoding: base64\n", b"charset=\"x-unknown\"", b"\t",
           b"From: \"a, b\" <@>\n", b"=\n", b"<html><body><p>", b"\xe9\xe8", b"> > > ", b"begin 644 x\n"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 4))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == 0 and raw:
            raw[at] = draw(st.integers(0, 255))
        elif kind == 1:
            raw[at:at] = draw(st.sampled_from(SPLICES))
        elif kind == 2:
            del raw[at:at + draw(st.integers(1, 200))]
        elif kind == 3:
            raw = raw[:at]
        else:
            end = min(len(raw), at + draw(st.integers(1, 400)))
            raw[at:at] = raw[at:end] * draw(st.integers(1, 3))
    return bytes(raw)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(mutated())
def test_parse_and_assess_never_raise_and_stay_bounded(raw: bytes) -> None:
    started = time.monotonic()
    message = parse(raw)
    assessment = assess_with(message, CONTEXT, DETECTOR.detect(Text.from_message(message)), today=date(2026, 11, 20))
    assert time.monotonic() - started < BOUND_SECONDS
    assert 1 <= assessment.priority <= 6 and assessment.consent in ("ok", "failing", "unknown", "not_applicable",
                                                                       "unverified")
