"""The rule-based detector (triage.detect.rules): emergent, HIPAA rights, purpose, clinical question.

Every message here is synthetic and written for these tests (no real people; addresses at example.org only).
"""

from __future__ import annotations

import time

import pytest

from triage.detect import EMERGENT_KINDS, PURPOSES, RIGHTS, Detection, Text
from triage.detect import context as ctx
from triage.detect.rules import MAX_PHRASE, RuleDetector

DETECTOR = RuleDetector()


def detect(new_text: str, subject: str = "", quoted: str = "", signature: str = "") -> Detection:
    return DETECTOR.detect(Text(subject=subject, new_text=new_text, quoted_text=quoted, signature=signature))


def squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- emergent: every kind

EMERGENT = [
    # intent or plan
    ("intent_or_plan", "I've decided to end my life on Saturday. I already have the pills sorted."),
    ("intent_or_plan", "i'm going to kill myself tonight after my shift"),
    ("intent_or_plan", "honestly I have a plan now. the bridge by the highway, friday night."),
    ("intent_or_plan", "Tengo todo listo. Esta noche me voy a quitar la vida."),
    # passive ideation, now
    ("passive_current", "Lately I just don't want to be alive anymore. Every morning is heavy."),
    ("passive_current", "I keep wishing I could fall asleep and never wake up."),
    ("passive_current", "my family would be better off without me, that's all I think about"),
    ("passive_current", "Ya no quiero vivir, todo me pesa."),
    # warning signs: a sense of ending
    ("warning_signs", "I found new owners for both my cats this weekend and wrote a letter for each of my kids. "
                      "Thank you for trying so hard with me."),
    ("warning_signs", "You won't need to keep my Tuesday slot. I won't be around after this month."),
    ("warning_signs", "I've been saving my sleeping pills for weeks, there are 80 now in a bag in my closet."),
    ("warning_signs", "Le regalé mi perro a mi vecina y dejé cartas para mis hijos."),
    # self-harm now or imminent
    ("self_harm", "I just cut my arm again and it won't stop bleeding."),
    ("self_harm", "The urge to cut is really strong tonight and I have a razor in my hand."),
    ("self_harm", "been burning myself with a lighter tonight and i want to keep going"),
    ("self_harm", "Me corté los brazos hace una hora y quiero hacerlo más."),
    # harm to others: a target or a weapon
    ("harm_to_others", "I'm going to stab my neighbor when he gets home tonight, the knife is in my jacket."),
    ("harm_to_others", "If my ex shows up again I'm going to shoot him. I have my brother's gun."),
    ("harm_to_others", "Voy a matar a mi cuñado, ya tengo el cuchillo."),
    # overdose or medical emergency
    ("overdose_medical", "I swallowed about 30 of my trazodone an hour ago and now my heart is racing."),
    ("overdose_medical", "took a handful of tylenol with a bottle of vodka, feeling really sick"),
    ("overdose_medical", "I mixed my xanax with a lot of wine and my breathing is really slow."),
    ("overdose_medical", "Me tomé como 20 pastillas para dormir y no puedo respirar bien."),
    # acute psychiatric crisis
    ("acute_crisis", "The voices are telling me to hurt myself and they won't stop. I am not safe tonight."),
    ("acute_crisis", "I can't keep myself safe tonight, please call me."),
    ("acute_crisis", "I haven't slept in four days and I keep seeing people who aren't there. I'm terrified."),
    ("acute_crisis", "Las voces me dicen que salga a la calle. No me siento segura."),
    # a minor in danger now
    ("minor_in_danger", "My daughter is 14 and she just told me she took a bunch of my pills. She is throwing up."),
    ("minor_in_danger", "My son (12) locked himself in the bathroom with a knife and says he wants to die."),
    ("minor_in_danger", "Mi hijo de 15 años se encerró en su cuarto con las pastillas de su abuela."),
    # abuse happening now
    ("abuse_now", "My husband is hitting me right now, I locked myself in the bathroom."),
    ("abuse_now", "He says he'll kill me if I leave tonight. He took my phone and my keys."),
    ("abuse_now", "Mi pareja me está golpeando ahorita, estoy encerrada con los niños."),
]


@pytest.mark.parametrize(("kind", "text"), EMERGENT)
def test_emergent(kind: str, text: str) -> None:
    d = detect(text)
    assert d.emergent, text
    assert d.emergent_kind == kind
    assert 0.5 <= d.emergent_score <= 1.0
    evidence = d.evidence_for("emergent")
    assert evidence
    for e in evidence:
        assert e.source.startswith("rule:")
        assert len(e.phrase) <= MAX_PHRASE
        assert squash(e.phrase).rstrip("…") in squash(text)  # the sender's own words


def test_every_kind_has_two_positives() -> None:
    counts = {k: sum(1 for kind, _ in EMERGENT if kind == k) for k in EMERGENT_KINDS}
    assert min(counts.values()) >= 2, counts


# --------------------------------------------------------------------------- hard negatives

HARD_NEGATIVES = [
    ("idiom", "I'm dying to hear what you think of my essay!"),
    ("idiom", "This insurance paperwork is killing me, can you help?"),
    ("idiom", "I could kill my sister lol, she ate my lunch"),
    ("idiom", "My boss is going to kill me if I'm late again, can we do 8am?"),
    ("idiom", "Me muero de ganas de verla el jueves."),
    ("past_history", "I used to cut myself in college, but that was eight years ago and I'm fine now."),
    ("past_history", "Last year's hospital stay feels like a different life."),
    ("past_history", "When I was 17 I took a bottle of pills. I'm 40 now and doing well."),
    ("past_history", "Hace muchos años intenté quitarme la vida; hoy estoy bien."),
    ("media_news", "We watched a documentary about a man who killed himself and it made me sad."),
    ("media_news", "The news about the stabbing downtown is upsetting."),
    ("media_news", "At work a patient overdosed on heroin today, it was rough but I'm okay."),
    ("someone_else", "My cousin tried to kill herself two years ago and she's doing great now."),
    ("anger_no_threat", "I'm so furious with my landlord I could scream. I'm going to file a complaint."),
    ("anger_no_threat", "I hate my boss so much right now. Not going to do anything, just venting."),
    ("negated", "I'm not suicidal, I'm just exhausted."),
    ("negated", "No thoughts of hurting myself this week."),
    ("negated", "I don't want to die, I just want the pain in my back to stop."),
    ("negated", "No tengo pensamientos de hacerme daño."),
    ("hypothetical", "If I ever felt unsafe at night, who should I call?"),
    ("hypothetical", "What happens if someone tells you they want to hurt themselves? Do you call the police?"),
    ("intrusive_thought_with_insight",
     "I had an intrusive thought about pushing someone off the platform. I know it's my OCD, I would never do it."),
    ("ordinary", "I gave my old bike to my nephew since I bought a new one."),
    ("ordinary", "I'm writing a letter to my kids' teacher about the field trip."),
    ("ordinary", "I took my meds this morning like usual."),
    ("ordinary", "Thank you for everything this year, see you in January!"),
    ("ordinary", "Please cancel all my remaining sessions. I'm moving to Oregon for a new job. "
                 "Thank you for everything!"),
    ("ordinary", "We're moving and the new place doesn't allow dogs, so I'm giving my dog to my sister."),
    ("ordinary", "I won't need the appointment next week, I've been discharged from the program!"),
]


@pytest.mark.parametrize(("kind", "text"), HARD_NEGATIVES)
def test_hard_negative_is_not_emergent(kind: str, text: str) -> None:
    d = detect(text)
    assert not d.emergent, (kind, text, d.evidence_for("emergent"))
    assert d.emergent_kind == ""
    assert d.emergent_score < 0.5


def test_crisis_only_in_quoted_history_is_not_emergent() -> None:
    body = ("Thanks for calling me back, I'm much better today. See you Tuesday.\n\n"
            "On Mon, Mar 2, 2026 at 9:15 PM Sam Rivera <srivera@example.org> wrote:\n"
            "> I want to die. I took a bunch of pills and I can't do this anymore.\n")
    text = Text.from_body("Re: last night", body)
    assert "pills" in text.quoted_text and "pills" not in text.new_text
    assert not DETECTOR.detect(text).emergent


def test_crisis_line_footer_in_signature_is_not_emergent() -> None:
    d = detect("Thursday at 3 works, see you then.",
               signature="Dana Lee, LMFT\nIf this is an emergency call 911 or 988. Suicide & Crisis Lifeline.")
    assert not d.emergent


def test_crisis_line_footer_left_in_the_body_is_not_emergent() -> None:
    d = detect("Can we move Friday to Monday?\n\nJamie\nVolunteer, Crisis Text Line\n"
               "If you are having thoughts of suicide, text HOME to 741741 or call 988.")
    assert not d.emergent
    assert d.purpose == "scheduling"


def test_subject_alone_can_raise_but_a_reply_subject_cannot() -> None:
    assert detect("Please call me.", subject="I am not safe tonight").emergent
    assert not detect("ok, thanks", subject="Re: are you safe tonight? call 988").emergent


def test_short_answer_to_a_safety_check_in_uses_the_quote_as_context() -> None:
    quoted = "> Hi, checking in after yesterday. Are you safe right now?\n> Dana"
    d = detect("no. not really.", quoted=quoted)
    assert d.emergent and d.emergent_kind == "acute_crisis"
    assert all(squash(e.phrase) in "no. not really." for e in d.evidence_for("emergent"))
    assert not detect("yes I'm safe, my sister is here.", quoted=quoted).emergent
    assert not detect("no. not really.", quoted="> Did you get the forms I sent?").emergent


def test_plan_and_ideation_together_are_intent() -> None:
    d = detect("I don't want to be alive anymore. I have my dad's gun in my closet now.")
    assert d.emergent and d.emergent_kind == "intent_or_plan"
    assert d.emergent_score >= 0.9


def test_weak_signals_alone_stay_below_the_threshold() -> None:
    d = detect("Thank you for everything, you were always kind to me. Please call me.")
    assert not d.emergent
    assert 0.0 < d.emergent_score < 0.5


# --------------------------------------------------------------------------- HIPAA rights

RIGHTS_CASES = [
    ({"access"}, "I would like a copy of my medical records please."),
    ({"access"}, "Could I read what you wrote about me after our last session?"),
    ({"access"}, "Is there any way I can look at my chart before my hearing next month?"),
    ({"access"}, "Quiero una copia de mi expediente, por favor."),
    ({"amendment"}, "Please correct my date of birth in my chart, it's wrong."),
    ({"amendment"}, "That note says I was drunk at the visit. That's not true, please fix it."),
    ({"amendment"}, "Mi expediente dice que no tengo hijos pero tengo dos, por favor corríjanlo."),
    ({"accounting"}, "Who have you shared my information with?"),
    ({"accounting"}, "Did you send anything about me to my probation officer? I want to know who got what about me."),
    ({"accounting"}, "¿Con quién compartieron mi información?"),
    ({"restriction"}, "Please don't share anything with my mom."),
    ({"restriction"}, "I don't want my employer getting any reports about my therapy."),
    ({"restriction"}, "No le den información a mi esposo aunque llame."),
    ({"confidential_communication"}, "Only call my cell, no letters to the house."),
    ({"confidential_communication"}, "Can you email me instead of calling my home phone? My roommate listens in."),
    ({"confidential_communication"}, "No me manden nada a mi casa, solo a mi correo."),
    ({"access", "confidential_communication"},
     "I'd like a copy of my treatment plan. And please don't leave voicemails, text me instead."),
]


@pytest.mark.parametrize(("rights", "text"), RIGHTS_CASES)
def test_rights(rights: set[str], text: str) -> None:
    d = detect(text)
    assert set(d.rights) == rights, text
    assert list(d.rights) == [r for r in RIGHTS if r in d.rights]  # in RIGHTS order, no repeats
    for right in rights:
        evidence = d.evidence_for(right)
        assert evidence and evidence[0].source.startswith("rule:")
        assert squash(evidence[0].phrase).rstrip("…") in squash(text)


NOT_REQUESTS = [
    "Thanks for sending my records last week, I got them.",
    "What is a release of information form?",
    "I signed the release so you can talk to my school counselor.",
    "Last year I asked for my records and it took forever, but that's sorted now.",
    "You can leave voicemails on my phone, it's fine.",
    "There's a form in my packet called 'request to amend'. I don't need anything, just curious what it's for.",
    "Gracias por mandarme la copia de mi expediente, ya la recibí.",
]


@pytest.mark.parametrize("text", NOT_REQUESTS)
def test_not_a_rights_request(text: str) -> None:
    assert detect(text).rights == ()


# --------------------------------------------------------------------------- purpose and clinical question

PURPOSE_CASES = [
    ("scheduling", False, "Can we move my Thursday appointment to Friday afternoon?"),
    ("scheduling", False, "I need to cancel tomorrow, my kid is sick. Can we do next week?"),
    ("scheduling", False, "Necesito cambiar mi cita del martes, ¿tiene algo el jueves?"),
    ("reminder", False, "What time is my appointment next week?"),
    ("reminder", False, "Just confirming I'm still on for Monday at 10."),
    ("treatment_instructions", False, "Remind me, do I take the sertraline in the morning or at night?"),
    ("treatment_instructions", False, "You said take it with food, right?"),
    ("clinical_question", True, "Should I increase my lamotrigine? The lows are back."),
    ("clinical_question", True, "Is it normal to feel this tired on the new medication?"),
    ("clinical_question", True, "¿Puedo bajar la dosis de la sertralina? Me da mucho sueño."),
    ("information", False, "What are the clinic's hours on Saturday?"),
    ("information", False, "Can you write a letter for my job saying I'm in treatment?"),
    ("other", False, "Thank you so much for today, I feel lighter."),
    ("other", False, "Guess what, I got the job! Just wanted to share."),
    # a clinical question inside a scheduling message: scheduling, and the flag is set
    ("scheduling", True, "Can we reschedule to Monday? Also, is it normal to feel dizzy on the new dose?"),
]


@pytest.mark.parametrize(("purpose", "clinical", "text"), PURPOSE_CASES)
def test_purpose_and_clinical_question(purpose: str, clinical: bool, text: str) -> None:
    d = detect(text)
    assert d.purpose == purpose, text
    assert d.clinical_question is clinical, text
    if purpose != "other":
        evidence = d.evidence_for(purpose)
        assert evidence and squash(evidence[0].phrase).rstrip("…") in squash(text)
    if clinical:
        assert d.evidence_for("clinical_question")


def test_every_purpose_is_covered() -> None:
    assert {p for p, _, _ in PURPOSE_CASES} == set(PURPOSES)


def test_crisis_message_is_other_unless_it_also_asks_something() -> None:
    assert detect("I took all my lithium an hour ago, like 40 of them. I'm shaking.").purpose == "other"
    d = detect("Can we move Wednesday to next week? Also honestly I don't want to be alive anymore.")
    assert d.emergent and d.purpose == "scheduling"


def test_records_request_purpose_is_information_and_a_restriction_is_other() -> None:
    assert detect("I would like a copy of my medical records please.").purpose == "information"
    assert detect("Please don't share anything with my mom.").purpose == "other"


# --------------------------------------------------------------------------- the detector as a whole

def test_from_body_and_detect_many() -> None:
    bodies = [
        ("", "can u send me my chart\n\nSent from my phone"),
        ("appt", "Hi, can we do 3 instead of 2 tomorrow?\n\n-- \nAlex\nalex@example.org"),
    ]
    texts = [Text.from_body(s, b) for s, b in bodies]
    out = DETECTOR.detect_many(texts)
    assert [d.detector for d in out] == ["rules-1", "rules-1"]
    assert out[0].rights == ("access",)
    assert out[1].purpose == "scheduling"
    assert DETECTOR.name == "rules-1"


def test_empty_message() -> None:
    d = detect("")
    assert d == Detection(emergent=False, emergent_score=0.0, detector="rules-1")


def test_labels_are_from_the_vocabularies() -> None:
    for _, text in EMERGENT + HARD_NEGATIVES:
        d = detect(text)
        assert d.emergent_kind in (*EMERGENT_KINDS, "")
        assert d.purpose in PURPOSES
        assert set(d.rights) <= set(RIGHTS)
        assert all(e.source.startswith("rule:") and " " not in e.source for e in d.evidence)


def test_normalize_keeps_offsets() -> None:
    original = "Estoy MUY cansada — ¿qué hago? İstanbul’s “quotes”"
    norm = ctx.normalize(original)
    assert len(norm) == len(original)
    assert "que hago" in norm and "istanbul's" in norm


def test_long_and_hostile_input_is_fast() -> None:
    samples = [
        "i " * 20_000,
        "kill " * 5_000,
        ("I want " + "very " * 3000 + "much to see my records. ") * 3,
        "a" * 50_000,
        "if i " * 4_000 + "kill myself",
        ("no, " * 3000) + "i am not safe",
    ]
    for text in samples:
        start = time.perf_counter()
        detect(text)
        assert time.perf_counter() - start < 2.0, text[:40]


def test_typical_mail_is_fast_enough() -> None:
    texts = [Text("", t) for _, _, t in PURPOSE_CASES] + [Text("", t) for _, t in RIGHTS_CASES]
    DETECTOR.detect_many(texts)  # warm
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        DETECTOR.detect_many(texts)
    rate = rounds * len(texts) / (time.perf_counter() - start)
    assert rate > 500  # the measurement (rules_eval) shows several thousand per second; this guards regressions
