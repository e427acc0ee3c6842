"""The fixed words of the review pages: flag names, the help page, what to do in an emergency.

Plain sentences for clinicians; no client data. The standards are the department's
*Standards for Using Secure Email to Communicate with Clients* (docs/standards.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.policy import FLAGS


@dataclass(frozen=True)
class FlagHelp:
    flag: str
    title: str
    standards: str
    meaning: str
    todo: str


HELP = (
    FlagHelp("emergent", "Emergent", "standard 6",
             "The message describes a crisis happening now: thoughts or a plan of suicide, danger to someone, "
             "an overdose, abuse or violence. It is always at the top of the queue, and the clinician and the "
             "program's on-call cover were alerted; the alert goes to the supervisors if nobody acknowledges it.",
             "Respond at once by the most effective means, whatever the consent: call the client first (the "
             "item page shows the phone on file). If there is immediate danger to life call 911; for a suicidal "
             "crisis call or text 988; the county's 24/7 line is shown on the item. Email may be used for an "
             "emergent message. Then acknowledge the item, and resolve it with a note of what was done."),
    FlagHelp("rights_request", "Rights request", "standards 9 and 10",
             "The client asks to use a HIPAA privacy right: access to their records, amendment, an accounting of "
             "disclosures, a restriction, or confidential communication. Each carries a legal clock from the "
             "message's receipt (access 30 days, amendment and accounting 60, confidential communication 10 "
             "business days; California also gives 5 working days to inspect and 15 days for copies). A request "
             "cannot be satisfied by email.",
             "Send the approved request form for each right: triage prepared a draft in your Drafts folder "
             "(to the address on the consent form only) or, when email may not be used, a letter. Record each "
             "step here: forms sent, signed form received, then fulfilled or denied. Sending the forms does not "
             "finish the request. Access, amendment and accounting may be extended once, with a written reason, "
             "before the first deadline."),
    FlagHelp("no_consent", "No consent to email", "standards 1 to 4, and 6",
             "This client has no valid Consent to Email: the program did not approve email, the form is "
             "missing, unsigned, revoked or signed with another clinician, the client is a minor whose consent "
             "runs through an adult, or the mail came from an address not on the form. The reasons list which "
             "condition fails.",
             "Do not answer by email. Respond by telephone or by letter: the phone and mailing address on file "
             "are on the item page, and a note with a call script and a printable letter is in your notes "
             "folder."),
    FlagHelp("multiple_clients", "Several clients", "standard 5",
             "More than one client is on the message, or the sender's address is on the forms of several "
             "clients (a parent of two children, say) and the message does not say which one it is about.",
             "Never write to several clients on one email. Reply to each client separately, and when the "
             "address is shared, confirm which client the message is about first."),
    FlagHelp("clinical_question", "Clinical question", "standard 8",
             "Part of the message asks for a diagnosis, treatment advice or a change of medication. Email may "
             "only schedule, remind, or relay information already discussed (standard 7).",
             "Answer that part by telephone or in a session, never by email. An email reply may still schedule "
             "the call or the appointment."),
    FlagHelp("unverified_sender", "Unverified sender", "standards 1e, 4 and 6",
             "The sender's address is on no signed Consent to Email form: it may be a client writing from a new "
             "address, a relative, or someone else.",
             "Verify who it is before any reply, by telephone using the number in the client's record (not one "
             "given in the message). Do not reply by email; a client without consent is answered by telephone "
             "or letter."),
)
assert tuple(h.flag for h in HELP) == FLAGS  # one paragraph per flag, in the policy's order

TITLES = {h.flag: h.title for h in HELP}

WHEN_TO_CALL = (
    ("911", "Immediate danger to life: an attempt under way, a weapon, an overdose or other medical emergency, "
            "violence happening now. Call 911 and give the client's location if you know it."),
    ("988", "A suicidal crisis without immediate danger: call or text 988 (Suicide and Crisis Lifeline), or stay "
            "on the phone with the client and connect them."),
)

STEP_NAMES = {"forms_sent": "forms sent", "signed_form_received": "signed form received", "fulfilled": "fulfilled",
              "denied": "denied", "open": "open"}

DONE = {
    "acknowledged": "Acknowledged.",
    "already": "It was already acknowledged; the first acknowledgement stands.",
    "resolved": "Resolved.",
    "extended": "The extension is recorded. Tell the client the reason and the new date in writing.",
    "step": "The request's step is recorded.",
    "corrected": "The labels are corrected. The correction is kept to train the detector.",
    "settings": "Saved.",
}
