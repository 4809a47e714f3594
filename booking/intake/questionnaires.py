"""PHQ-9, GAD-7 and PCL-5: their standard wording and answer scales, and their scoring.

The wording is copied from the published instruments and must not be paraphrased.
PHQ-9 and GAD-7 are free to use; the PCL-5 is in the public domain. Scoring is plain
functions over lists of item ratings, so it is unit-tested without an app.
"""

from dataclasses import dataclass

FREQUENCY_SCALE = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)
PCL5_SCALE = (
    (0, "Not at all"),
    (1, "A little bit"),
    (2, "Moderately"),
    (3, "Quite a bit"),
    (4, "Extremely"),
)

PHQ9_STEM = "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
PHQ9_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
    "fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)
# The closing item of both the PHQ-9 and the GAD-7 (not scored), in their shared standard wording.
DIFFICULTY = ("If you checked off any problems, how difficult have these problems made it for you to do "
              "your work, take care of things at home, or get along with other people?")
DIFFICULTY_SCALE = (
    ("not", "Not difficult at all"),
    ("somewhat", "Somewhat difficult"),
    ("very", "Very difficult"),
    ("extremely", "Extremely difficult"),
)

GAD7_STEM = "Over the last 2 weeks, how often have you been bothered by the following problems?"
GAD7_ITEMS = (
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
)

PCL5_INSTRUCTIONS = (
    "Below is a list of problems that people sometimes have in response to a very stressful experience. "
    "Please read each problem carefully and then select one of the answers to indicate how much you have "
    "been bothered by that problem in the past month.")
PCL5_STEM = "In the past month, how much were you bothered by:"
PCL5_ITEMS = (
    "Repeated, disturbing, and unwanted memories of the stressful experience?",
    "Repeated, disturbing dreams of the stressful experience?",
    "Suddenly feeling or acting as if the stressful experience were actually happening again "
    "(as if you were actually back there reliving it)?",
    "Feeling very upset when something reminded you of the stressful experience?",
    "Having strong physical reactions when something reminded you of the stressful experience "
    "(for example, heart pounding, trouble breathing, sweating)?",
    "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    "Avoiding external reminders of the stressful experience (for example, people, places, conversations, "
    "activities, objects, or situations)?",
    "Trouble remembering important parts of the stressful experience?",
    "Having strong negative beliefs about yourself, other people, or the world (for example, having thoughts "
    "such as: I am bad, there is something seriously wrong with me, no one can be trusted, the world is "
    "completely dangerous)?",
    "Blaming yourself or someone else for the stressful experience or what happened after it?",
    "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    "Loss of interest in activities that you used to enjoy?",
    "Feeling distant or cut off from other people?",
    "Trouble experiencing positive feelings (for example, being unable to feel happiness or have loving "
    "feelings for people close to you)?",
    "Irritable behavior, angry outbursts, or acting aggressively?",
    "Taking too many risks or doing things that could cause you harm?",
    "Being \u201csuperalert\u201d or watchful or on guard?",
    "Feeling jumpy or easily startled?",
    "Having difficulty concentrating?",
    "Trouble falling or staying asleep?",
)

# (lowest total of the band, band name), ascending.
PHQ9_BANDS = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe"))
GAD7_BANDS = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))
PHQ9_MAX, GAD7_MAX, PCL5_MAX = 27, 21, 80
DEFAULT_PCL5_CUTOFF = 33

# DSM-5 symptom clusters of the PCL-5: (cluster, 1-based items, how many must be rated 2+).
PCL5_CLUSTERS = (
    ("B", range(1, 6), 1),
    ("C", range(6, 8), 1),
    ("D", range(8, 15), 2),
    ("E", range(15, 21), 2),
)
PCL5_ENDORSED = 2  # "Moderately" or more counts as a symptom endorsed


@dataclass(frozen=True)
class Score:
    """A questionnaire total with its band, the most it can be, and anything else it implies."""

    instrument: str
    total: int
    maximum: int
    band: str
    bands: tuple = ()  # (lowest total, name) for drawing
    extra: tuple = ()  # (label, value) pairs the clinician reads, e.g. PHQ-9 item 9


def _check_items(ratings, count, highest):
    """Refuse a list that is not `count` whole numbers from 0 to `highest`."""
    ratings = list(ratings)
    if len(ratings) != count or any(not isinstance(r, int) or isinstance(r, bool) or not 0 <= r <= highest
                                    for r in ratings):
        raise ValueError(f"expected {count} ratings from 0 to {highest}")
    return ratings


def band_for(total, bands):
    """The name of the band `total` falls in."""
    name = bands[0][1]
    for lowest, band in bands:
        if total >= lowest:
            name = band
    return name


def score_phq9(ratings):
    """PHQ-9 total 0–27 with its severity band; item 9 (self-harm) is reported separately."""
    ratings = _check_items(ratings, 9, 3)
    total = sum(ratings)
    return Score("PHQ-9", total, PHQ9_MAX, band_for(total, PHQ9_BANDS), PHQ9_BANDS,
                 (("Item 9 (thoughts of being better off dead or self-harm)", ratings[8]),))


def score_gad7(ratings):
    """GAD-7 total 0–21 with its severity band."""
    ratings = _check_items(ratings, 7, 3)
    total = sum(ratings)
    return Score("GAD-7", total, GAD7_MAX, band_for(total, GAD7_BANDS), GAD7_BANDS)


def pcl5_clusters_met(ratings):
    """True if the DSM-5 cluster rule is met (B≥1, C≥1, D≥2, E≥2 items rated 2 or more)."""
    ratings = _check_items(ratings, 20, 4)
    return all(sum(ratings[item - 1] >= PCL5_ENDORSED for item in items) >= needed
               for _name, items, needed in PCL5_CLUSTERS)


def score_pcl5(ratings, cutoff=DEFAULT_PCL5_CUTOFF):
    """PCL-5 total 0–80; "probable PTSD" at `cutoff` or more; the DSM-5 cluster rule as extra."""
    ratings = _check_items(ratings, 20, 4)
    total = sum(ratings)
    band = "probable PTSD" if total >= cutoff else "below cutoff"
    clusters = "met" if pcl5_clusters_met(ratings) else "not met"
    return Score("PCL-5", total, PCL5_MAX, band, ((0, "below cutoff"), (cutoff, "probable PTSD")),
                 (("DSM-5 cluster rule", clusters), ("Cutoff", cutoff)))


# The answers that show current risk, (step key, question name) -> answers as posted: PHQ-9 item 9
# above 0, or a yes to thoughts of self-harm. The rule below and the page's early panel both read this.
CRISIS_ANSWERS = {("seeking", "self_harm_thoughts"): ("yes",), ("phq9", "phq9_9"): ("1", "2", "3")}


def crisis_triggered(answers):
    """True if the answers show current risk (any answer listed in CRISIS_ANSWERS)."""
    return any(str((answers.get(step_key) or {}).get(name)) in values
               for (step_key, name), values in CRISIS_ANSWERS.items())


def crisis_questions(step_key):
    """{question name: crisis answers} on the step `step_key` (for the panel shown while answering)."""
    return {name: list(values) for (key, name), values in CRISIS_ANSWERS.items() if key == step_key}
