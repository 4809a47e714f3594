"""The intake's steps, declared once: forms, the review page and the staff view are built from this.

Each answer is stored under its step's key and its question's name, as a plain JSON value:
text and dates as strings, numbers and questionnaire ratings as integers, ticked boxes
as lists of choice values. A blank optional answer is stored as None.
"""

from dataclasses import dataclass, field

from booking.intake import questionnaires as q

YES_NO = (("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class Question:
    """One answer: its name, label, kind and limits."""

    name: str
    label: str
    kind: str  # text, textarea, email, tel, date, integer, weight (stored in kg), choice, multi, scale
    required: bool = True
    choices: tuple = ()
    max_length: int = 200
    minimum: int | None = None
    maximum: int | None = None
    hint: str | None = None
    autocomplete: str | None = None

    def display(self, value):
        """The answer as the patient or clinician reads it."""
        if value is None or value == "" or value == []:
            return "Not answered"
        labels = {str(key): label for key, label in self.choices}
        if self.kind == "multi":
            return ", ".join(labels.get(str(v), str(v)) for v in value)
        if self.kind in ("choice", "scale"):
            text = labels.get(str(value), str(value))
            return f"{text} ({value})" if self.kind == "scale" else text
        if self.kind == "weight":
            return f"{value:g} kg"
        return str(value)


@dataclass(frozen=True)
class Step:
    """One page of the intake."""

    key: str
    title: str
    questions: tuple = ()
    kind: str = "form"  # form, review, consent
    intro: tuple = ()  # paragraphs shown above the questions
    stem: str | None = None  # a questionnaire's standard question above its items
    scored: bool = False
    groups: tuple = field(default=())  # (heading, names) to split a long form visually

    def question(self, name):
        """The question called `name` in this step."""
        return next(question for question in self.questions if question.name == name)


def _scale_items(prefix, items, scale):
    """One scale question per questionnaire item, numbered as on the paper form."""
    return tuple(Question(f"{prefix}_{number}", f"{number}. {text}", "scale", choices=scale)
                 for number, text in enumerate(items, start=1))


SEEKING_CHOICES = (
    ("depression", "Depression"),
    ("ptsd", "PTSD or trauma"),
    ("anxiety", "Anxiety"),
    ("ocd", "OCD (obsessive-compulsive disorder)"),
    ("bipolar_depression", "Bipolar depression"),
    ("chronic_pain", "Chronic pain"),
    ("other", "Something else"),
)

NONE_OF_THESE = "none"  # the answer that rules out every other box of its group
# Medical conditions relevant to candidacy. The screening rules refer to these values.
MEDICAL_CHOICES = (
    ("bp_uncontrolled", "High blood pressure that is not under control"),
    ("bp_controlled", "High blood pressure that is under control (for example with medicine)"),
    ("heart_attack_recent", "A heart attack in the last 6 weeks"),
    ("unstable_angina", "Unstable angina (chest pain at rest or getting worse)"),
    ("heart_disease", "Other heart disease (for example heart failure, an earlier heart attack, arrhythmia)"),
    ("aneurysm", "An aneurysm, arteriovenous malformation (AVM) or bleeding in the brain"),
    ("psychosis_current", "Hearing or seeing things others do not, or unusual beliefs, at present (psychosis)"),
    ("mania_current", "A current episode of mania"),
    ("psychosis_past", "Psychosis in the past"),
    ("schizophrenia_current", "Schizophrenia or schizoaffective disorder, with symptoms at present"),
    ("schizophrenia", "Schizophrenia or schizoaffective disorder, without symptoms at present"),
    ("psychosis_family", "Psychosis or schizophrenia in a parent, brother, sister or child"),
    ("bipolar", "Bipolar disorder"),
    ("bladder", "Bladder pain, cystitis or urinary symptoms"),
    ("liver", "Liver disease"),
    ("intracranial_pressure", "Raised pressure inside the skull"),
    ("glaucoma", "Glaucoma or raised pressure in the eye"),
    ("seizures", "Seizures or epilepsy"),
    ("hyperthyroid", "An overactive thyroid that is not treated"),
    ("copd", "COPD or another long-term lung disease"),
    ("sleep_apnoea", "Sleep apnoea"),
    (NONE_OF_THESE, "None of these"),
)
PREGNANCY_CHOICES = (("no", "No"), ("yes", "Yes"), ("unsure", "Not sure"), ("not_applicable", "Does not apply to me"))
TRIAL_RESPONSE_CHOICES = (
    ("none", "No improvement"), ("partial", "Some improvement"), ("good", "Good improvement"),
    ("side_effects", "Stopped because of side effects"),
)
ADVANCED_TREATMENTS = (("ect", "ECT (electroconvulsive therapy)"), ("tms", "TMS (transcranial magnetic stimulation)"),
                       ("esketamine", "Esketamine nasal spray (Spravato)"), ("ketamine", "Ketamine treatment"))
FREQUENCY_CHOICES = (("never", "Never"), ("past", "In the past, not now"), ("monthly", "Monthly or less"),
                     ("weekly", "Weekly"), ("daily", "Daily or almost daily"))
DATE_HINT = "For example 05/14/1990 or 1990-05-14 (month, day, year)."
# Said before the PCL-5's standard instructions, which are quoted unchanged.
PCL5_NOTE = ("You do not need to describe what happened, here or anywhere in this questionnaire. If these "
             "questions bring up difficult feelings, you can stop and come back later: your answers so far "
             "are saved, and your private link brings you back to this page.")
TRIAL_ROWS = 4  # rows for antidepressant trials; enough for the treatment-resistance rule, no JavaScript needed


def _trial_questions():
    """Name, dose, weeks and response for each antidepressant row."""
    questions = []
    for row in range(1, TRIAL_ROWS + 1):
        questions += [
            Question(f"trial_{row}_name", f"Medicine {row}: name", "text", required=False, max_length=100),
            Question(f"trial_{row}_dose", f"Medicine {row}: highest daily dose", "text", required=False,
                     max_length=50, hint="For example 20 mg"),
            Question(f"trial_{row}_weeks", f"Medicine {row}: weeks taken at that dose", "integer",
                     required=False, minimum=0, maximum=1000),
            Question(f"trial_{row}_response", f"Medicine {row}: how it worked", "choice", required=False,
                     choices=TRIAL_RESPONSE_CHOICES),
        ]
    return tuple(questions)


STEPS = (
    Step("about", "About you", (
        Question("legal_name", "Full legal name", "text", max_length=120, autocomplete="name"),
        Question("date_of_birth", "Date of birth", "date", hint=DATE_HINT, autocomplete="bday"),
        Question("email", "Email address", "email", max_length=254, autocomplete="email",
                 hint="We send your private link and booking details here."),
        Question("phone", "Phone number", "tel", max_length=30, autocomplete="tel"),
        Question("region", "State or region where you live", "text", max_length=80, autocomplete="address-level1"),
        Question("weight_kg", "Weight", "weight", minimum=30, maximum=300,
                 hint="In kilograms or pounds; decimals are fine. Doses are worked out from body weight."),
        Question("emergency_name", "Emergency contact: name", "text", max_length=120),
        Question("emergency_phone", "Emergency contact: phone number", "tel", max_length=30),
        Question("referrer", "Referring clinician (optional)", "text", required=False, max_length=200),
    ), intro=("Tell us who you are and how to reach you. Only the clinic's staff see these answers.",)),
    Step("seeking", "What you are seeking help with", (
        Question("conditions", "What would you like help with? Tick all that apply.", "multi",
                 choices=SEEKING_CHOICES),
        Question("conditions_other", "If something else, please describe it (optional)", "textarea",
                 required=False, max_length=1000),
        Question("self_harm_thoughts", "Are you having thoughts of harming yourself at the moment?", "choice",
                 choices=YES_NO),
    )),
    Step("phq9", "PHQ-9: mood", _scale_items("phq9", q.PHQ9_ITEMS, q.FREQUENCY_SCALE) + (
        Question("phq9_difficulty", q.DIFFICULTY, "choice", required=False, choices=q.DIFFICULTY_SCALE),
    ), stem=q.PHQ9_STEM, scored=True),
    Step("gad7", "GAD-7: anxiety", _scale_items("gad7", q.GAD7_ITEMS, q.FREQUENCY_SCALE) + (
        Question("gad7_difficulty", q.DIFFICULTY, "choice", required=False, choices=q.DIFFICULTY_SCALE),
    ), stem=q.GAD7_STEM, scored=True),
    Step("pcl5", "PCL-5: stress after a very stressful experience",
         _scale_items("pcl5", q.PCL5_ITEMS, q.PCL5_SCALE), intro=(PCL5_NOTE, q.PCL5_INSTRUCTIONS),
         stem=q.PCL5_STEM, scored=True),
    Step("treatment", "Treatment history", _trial_questions() + (
        Question("therapy", "Have you had talking therapy (for example CBT)?", "choice", choices=YES_NO),
        Question("advanced", "Have you had any of these treatments? Tick all that apply.", "multi",
                 required=False, choices=ADVANCED_TREATMENTS),
        Question("hospitalisations", "Have you ever been in hospital for your mental health? If so, when?",
                 "textarea", required=False, max_length=1000),
    ), intro=("List the antidepressant medicines you have tried, if any. Leave rows you do not need empty.",),
        groups=tuple((f"Antidepressant {r}", (f"trial_{r}_",)) for r in range(1, TRIAL_ROWS + 1))),
    Step("medical", "Medical history", (
        # Each box says when it applies (now, in the past, the last 6 weeks), so the question does not.
        Question("conditions", "Which of these apply to you? Tick all that apply.", "multi",
                 choices=MEDICAL_CHOICES, hint="If none of them apply, tick “None of these”."),
        Question("pregnant", "Are you pregnant?", "choice", choices=PREGNANCY_CHOICES),
        Question("breastfeeding", "Are you breastfeeding?", "choice", choices=YES_NO),
        Question("bp_systolic", "Your latest blood pressure: top number (systolic)", "integer", required=False,
                 minimum=70, maximum=250, hint="From a home monitor or a pharmacy, if you have one."),
        Question("bp_diastolic", "Your latest blood pressure: bottom number (diastolic)", "integer",
                 required=False, minimum=40, maximum=150),
        Question("bp_date", "Date of that reading", "date", required=False, hint=DATE_HINT),
        Question("other_conditions", "Any other medical conditions (optional)", "textarea", required=False,
                 max_length=2000),
    )),
    Step("medications", "Medications and allergies", (
        Question("medications", "Medicines you take now, with doses (one per line)", "textarea", required=False,
                 max_length=2000, hint="Include prescriptions, over-the-counter medicines and supplements."),
        Question("allergies", "Allergies, and what happens (optional)", "textarea", required=False, max_length=1000),
        Question("ketamine_allergy", "Have you ever had an allergic reaction to ketamine?", "choice",
                 choices=(("no", "No"), ("yes", "Yes"), ("unsure", "Not sure"))),
    )),
    Step("substance", "Substance use", (
        Question("alcohol", "How often do you drink alcohol?", "choice", choices=FREQUENCY_CHOICES),
        Question("cannabis", "How often do you use cannabis?", "choice", choices=FREQUENCY_CHOICES),
        Question("stimulants", "How often do you use stimulants not prescribed to you (for example cocaine)?",
                 "choice", choices=FREQUENCY_CHOICES),
        Question("opioids", "How often do you use opioids not prescribed to you?", "choice",
                 choices=FREQUENCY_CHOICES),
        Question("ketamine_nonmedical", "Have you ever used ketamine outside a medical setting?", "choice",
                 choices=YES_NO),
        Question("substance_disorder", "Have you ever been diagnosed with or treated for a substance use disorder?",
                 "choice", choices=YES_NO),
    ), intro=("Honest answers help the clinician judge what is safe for you and plan your care. "
              "They are not used to judge you.",)),
    Step("review", "Check your answers", kind="review"),
    Step("consent", "Consent and signature", (
        Question("signature", "Type your full name as your signature", "text", max_length=120,
                 autocomplete="name"),
    ), kind="consent"),
)
STEP_COUNT = len(STEPS)
STEP_NUMBER = {step.key: number for number, step in enumerate(STEPS, start=1)}
ANSWER_STEPS = tuple(step for step in STEPS if step.kind == "form")


def step_at(number):
    """The step with 1-based `number`, or None for a number outside the intake."""
    return STEPS[number - 1] if isinstance(number, int) and 1 <= number <= STEP_COUNT else None


def ratings(answers, step_key):
    """The scale answers of a questionnaire step as a list of ints, or None if incomplete."""
    step = STEPS[STEP_NUMBER[step_key] - 1]
    stored = answers.get(step_key) or {}
    values = [stored.get(question.name) for question in step.questions if question.kind == "scale"]
    return values if all(isinstance(v, int) for v in values) else None
