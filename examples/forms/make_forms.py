"""Write the SAMPLE request forms, one PDF per HIPAA privacy right (standard 9a-e).

These stand in for the department's approved forms in tests and demos: every
page says plainly that it is a sample and not an official form. Deterministic:
the creation date, producer and file id are fixed, so a run writes the same
bytes as the committed files.

    .venv/bin/python examples/forms/make_forms.py          # rewrite the PDFs
    .venv/bin/python examples/forms/make_forms.py --check  # exit 1 if a PDF differs
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from triage.drafts import FORM_TITLES

HERE = Path(__file__).resolve().parent
CREATED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # fixed, so the output never changes by itself
POLICY = {"access": "501.01", "amendment": "501.06", "accounting": "501.03", "restriction": "501.07",
          "confidential_communication": "501.04"}
FILES = {right: f"{right.replace('_', '-')}-request-SAMPLE.pdf" for right in POLICY}
COMMON = ("Client's full name", "Date of birth", "Mailing address", "Telephone")
FIELDS = {
    "access": ("Records you want to see or copy (for example, dates of service)",
               "Inspect in person, or a copy? Paper or electronic?"),
    "amendment": ("The record or entry you believe is wrong or incomplete (date, document)",
                  "The change you are asking for, and why"),
    "accounting": ("Period the accounting should cover (up to six years before this request)",
                   "Paper or electronic copy?"),
    "restriction": ("The use or disclosure of your information you want limited",
                    "To whom the limit should apply (for example, a family member or a health plan)"),
    "confidential_communication": ("How or where you want us to contact you instead (address, telephone)",
                                   "Any times or ways we must not contact you"),
}
STATEMENT = ("This form must be completed and signed by the client or the client's personal representative, "
             "and delivered to the program in person or by mail, for the request to be processed.")


def form_pdf(right: str) -> bytes:
    title = FORM_TITLES["en"][right]
    pdf = FPDF(format="letter")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_title(f"SAMPLE - not an official form - {title}")
    pdf.set_creator("examples/forms/make_forms.py")
    pdf.set_producer("examples/forms/make_forms.py")
    pdf.set_creation_date(CREATED)
    pdf.set_lang("en")
    pdf.add_page()

    # A large grey diagonal mark behind the text: no one can mistake a printout for the real form.
    pdf.set_font("Helvetica", "B", 90)
    pdf.set_text_color(225, 225, 225)
    with pdf.rotation(45, x=pdf.w / 2, y=pdf.h / 2):
        pdf.text(pdf.w / 2 - 75, pdf.h / 2 + 12, "SAMPLE")
    pdf.set_text_color(180, 0, 0)
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 7, "SAMPLE - not an official form", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, f"For testing and demonstration of triage only. Replace it with the department's "
                         f"approved form (policy {POLICY[right]}) before use.", align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    for label in (*COMMON, *FIELDS[right]):
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(7)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(3)

    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(0, 6, "Signature", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for label in ("Signature of client or personal representative", "Date",
                  "If signed by a personal representative: name, and relationship or authority"):
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(7)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(3)

    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(0, 5, STATEMENT, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(180, 0, 0)
    pdf.set_auto_page_break(False)  # the footer sits inside the bottom margin, on this page
    pdf.set_y(-16)
    pdf.multi_cell(0, 4, f"SAMPLE - not an official form - {title}", align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def main(argv: list[str]) -> int:
    check = "--check" in argv
    different = []
    for right, name in FILES.items():
        data = form_pdf(right)
        path = HERE / name
        if check:
            if not path.exists() or path.read_bytes() != data:
                different.append(name)
        else:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(HERE.parent.parent)} ({len(data)} bytes)")
    if different:
        print("out of date: " + ", ".join(different) + " (run examples/forms/make_forms.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
