"""Fill in the whole intake in a browser with the mouse, quickly (the keyboard-only journey is
tests/browser/test_intake_journey.py); ends on the page after sending."""

from booking.intake.steps import STEPS


def complete_intake(page, answers):
    """Start the questionnaire at /intake/start and send `answers` (stored-form values by step key)."""
    page.goto("/intake/start")
    page.get_by_role("button", name="Start the questionnaire").click()
    for step in STEPS:
        if step.kind == "form":
            for question in step.questions:
                value = answers[step.key].get(question.name)
                if value is None or value == []:
                    continue
                if question.kind in ("choice", "scale"):
                    page.check(f'input[name="{question.name}"][value="{value}"]')
                elif question.kind == "multi":
                    for item in value:
                        page.check(f'input[name="{question.name}"][value="{item}"]')
                else:
                    page.fill(f'[name="{question.name}"]', str(value))
            page.get_by_role("button", name="Save and continue").click()
        elif step.kind == "review":
            page.get_by_role("button", name="These answers are right").click()
        else:
            page.fill('[name="signature"]', answers["about"]["legal_name"])
            page.check('input[name="agree"]')
            page.get_by_role("button", name="Sign and send").click()
