"""A patient completes the intake by keyboard alone, meets the crisis panel, sends it; a clinician
finds it at the top of the queue marked urgent. axe checks every page; each step is photographed.
Each check waits with Playwright's `expect` for the element or text a person waits for, never for a time."""

from datetime import timedelta

import pyotp
from playwright.sync_api import expect

from booking.extensions import db as _db
from booking.intake.steps import STEPS
from booking.timeutil import utcnow
from tests.browser.conftest import assert_accessible, save_step_screenshot
from tests.factories import create_staff_user
from tests.intake_factories import default_values

MAX_TABS = 120


def tab_to(page, selector):
    """Press Tab until the focused element matches `selector` (keyboard only, no clicks)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"could not reach {selector} with the Tab key")


def type_into(page, name, text):
    """Tab to the field called `name` and type `text`."""
    tab_to(page, f'[name="{name}"]')
    page.keyboard.type(str(text))


def choose(page, name, index):
    """Pick the option at `index` of a radio group with the keyboard (Space, then arrow keys)."""
    tab_to(page, f'input[name="{name}"]')
    page.keyboard.press("Space")
    for _ in range(index):
        page.keyboard.press("ArrowDown")


def tick(page, name, value):
    """Tick the box with `value` in group `name`."""
    tab_to(page, f'input[name="{name}"][value="{value}"]')
    page.keyboard.press("Space")


def press_button(page, text):
    """Tab to the page's main button, check its words, and press Enter."""
    tab_to(page, "button[type=submit].button")
    expect(page.locator("button[type=submit].button:focus")).to_contain_text(text)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def check_page(page, name, heading):
    """Check the heading, run axe, and keep a screenshot."""
    expect(page.locator("h1")).to_contain_text(heading)
    assert_accessible(page)
    save_step_screenshot(page, f"intake-{name}")


def fill_step(page, key, values):
    """Fill a step from stored-form values by keyboard, in the page's order."""
    step = next(step for step in STEPS if step.key == key)
    for question in step.questions:
        value = values.get(question.name)
        if value is None or value == []:
            continue
        if question.kind in ("choice", "scale"):
            keys = [str(k) for k, _ in question.choices]
            choose(page, question.name, keys.index(str(value)))
        elif question.kind == "multi":
            for item in value:
                tick(page, question.name, item)
        else:
            type_into(page, question.name, value)


def choose_pounds(page):
    """Switch the weight's unit to pounds by keyboard (type-ahead on the focused list)."""
    tab_to(page, 'select[name="weight_kg_unit"]')
    page.keyboard.type("p")
    expect(page.locator('select[name="weight_kg_unit"]')).to_have_value("lb")


def test_keyboard_only_intake_with_crisis_panel_reaches_the_top_of_the_queue(page, live_server):
    answers = default_values()
    answers["about"]["legal_name"] = "Keyboard Patient"
    answers["about"]["date_of_birth"] = "03/27/1985"  # typed the US way into the date box
    answers["about"]["weight_kg"] = "154.5"  # in pounds (see choose_pounds)
    answers["medical"]["bp_date"] = (utcnow().date() - timedelta(days=7)).strftime("%m/%d/%Y")  # typed the US way
    answers["phq9"]["phq9_9"] = 1  # a crisis answer
    page.goto("/intake/start")
    check_page(page, "00-start", "Health questionnaire")
    press_button(page, "Start the questionnaire")
    for number, step in enumerate(STEPS, start=1):
        expect(page.locator(".step-progress")).to_contain_text(f"Step {number} of 11")
        check_page(page, f"{number:02d}-{step.key}", step.title.split(":")[0])
        if step.key == "about":  # sending it empty first: the errors page must be accessible too
            press_button(page, "Save and continue")
            expect(page.locator(".error-summary")).to_contain_text("Please check these answers")
            check_page(page, "01b-about-errors", step.title)
        if step.kind == "form":
            fill_step(page, step.key, answers[step.key])
            if step.key == "about":
                choose_pounds(page)
            if step.key == "phq9":  # the panel shows as soon as item 9 is answered, before sending
                early = page.locator(".crisis-early .crisis-panel")
                expect(early).to_contain_text("press 1")
                assert_accessible(page)
                save_step_screenshot(page, "intake-03a-crisis-panel-while-answering")
            press_button(page, "Save and continue")
            if step.key == "phq9":
                check_page(page, "03b-crisis-panel", "Help is available now")
                panel = page.locator(".crisis-panel")
                for text in ("988", "988lifeline.org", "911", "This form is not watched in real time"):
                    expect(panel).to_contain_text(text)
                press_button(page, "I have read this")
        elif step.kind == "review":
            summary = page.locator("main")
            for text in ("Keyboard Patient", "1985-03-27", "70.1 kg"):  # 154.5 lb, stored in kg
                expect(summary).to_contain_text(text)
            press_button(page, "These answers are right")
        else:
            type_into(page, "signature", "Keyboard Patient")
            tab_to(page, 'input[name="agree"]')
            page.keyboard.press("Space")
            press_button(page, "Sign and send")

    check_page(page, "12-done", "your questionnaire was sent")
    expect(page.locator(".crisis-panel")).to_contain_text("988")

    with live_server.app.app_context():
        clinician = create_staff_user(_db.session, "clinician")
    page.goto("/staff/login")
    type_into(page, "email", clinician.email)
    type_into(page, "password", clinician.password)
    press_button(page, "Sign in")
    type_into(page, "code", pyotp.TOTP(clinician.totp).now())  # the second factor, by keyboard too
    press_button(page, "Continue")
    tab_to(page, 'a[href="/staff/intakes"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page(page, "13-queue", "Intake queue")
    first_row = page.locator("table.queue tbody tr").first
    expect(first_row).to_contain_text("Keyboard Patient")
    expect(first_row).to_contain_text("Urgent")
    tab_to(page, "table.queue tbody tr:first-child a")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page(page, "14-detail", "Keyboard Patient")
    expect(page.locator("main")).to_contain_text("PHQ-9: 9 of 27, mild")
