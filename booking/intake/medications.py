"""Medicines that interact with ketamine, by class, with generic and common brand names.

A small maintained list: add names here (lower case). Matching is by whole word and
ignores case, so "Xanax 0.5mg" matches but "lamotrigine" does not match "amotri".
"""

import re

INTERACTING_MEDICATIONS = {
    "benzodiazepines": (
        "alprazolam", "xanax", "lorazepam", "ativan", "clonazepam", "klonopin", "diazepam", "valium",
        "temazepam", "restoril", "chlordiazepoxide", "librium", "oxazepam", "triazolam", "halcion",
        "midazolam", "clobazam", "onfi",
    ),
    "lamotrigine": ("lamotrigine", "lamictal"),
    "MAOIs": (
        "phenelzine", "nardil", "tranylcypromine", "parnate", "isocarboxazid", "marplan", "selegiline",
        "emsam", "moclobemide",
    ),
    "stimulants": (
        "amphetamine", "dextroamphetamine", "adderall", "dexedrine", "lisdexamfetamine", "vyvanse",
        "methylphenidate", "ritalin", "concerta", "dexmethylphenidate", "focalin", "modafinil", "provigil",
        "armodafinil", "nuvigil",
    ),
    "opioids": (
        "oxycodone", "oxycontin", "percocet", "hydrocodone", "vicodin", "norco", "morphine", "codeine",
        "tramadol", "ultram", "fentanyl", "hydromorphone", "dilaudid", "methadone", "buprenorphine",
        "suboxone", "tapentadol", "nucynta",
    ),
    "theophylline": ("theophylline", "theo-24", "uniphyl", "aminophylline"),
}

_PATTERNS = {
    drug_class: re.compile(r"(?<![\w-])(" + "|".join(re.escape(name) for name in names) + r")(?![\w-])",
                           re.IGNORECASE)
    for drug_class, names in INTERACTING_MEDICATIONS.items()
}


def interacting_medications(text):
    """[(class, name as written)] for each interacting medicine named in `text`, in list order."""
    found = []
    for drug_class, pattern in _PATTERNS.items():
        names = sorted({match.group(1).lower() for match in pattern.finditer(text or "")})
        found += [(drug_class, name) for name in names]
    return found
