"""Signals between features, so that one feature reacts to another without importing it.

Senders emit them inside the transaction that made the change, before the commit;
receivers may only add rows to the `session` they are given (for example an outbox
message), so that the change and its consequences commit or roll back together.
Every signal is sent with keyword arguments `session` and `now`, plus those listed.
Links are absolute URLs built by the sender; no signal carries health data to a
receiver that would put it in a message.
"""

from blinker import Namespace

_signals = Namespace()

# intake=Intake, email=str, link=str (the private resume link). Sent when the patient's
# email first becomes known, so the resume link can be emailed.
intake_started = _signals.signal("intake-started")
# intake=Intake (status submitted; intake.urgent tells whether it needs attention now).
intake_submitted = _signals.signal("intake-submitted")
# intake=Intake (sent), email=str (the address on file), link=str (the one-time correction
# link). The patient asked to correct a sent questionnaire: the link goes to that address only.
intake_correction_requested = _signals.signal("intake-correction-requested")
# intake=Intake, actor=StaffUser, link=str (the private booking link). A clinician cleared
# the patient to book.
intake_cleared = _signals.signal("intake-cleared")
# booking=Booking not yet written (every column but its id; in no session), actor, link,
# questionnaire_link: as booking_created's; clinician=a row of the clinician's name, email and
# whether active, when the sender has it (the booking page's cached plan), else None. Sent just
# before a new booking's INSERT (again for each clinician "first available" tries), so that
# receivers compose what they will write before the transaction writes: on SQLite, from its
# first write to its COMMIT a transaction holds the database's one write turn, which every other
# writer waits for. A receiver may read but must not write; what it returns reaches
# booking_created's receivers as `prepared`. The same object, given its id, becomes the written
# booking that booking_created sends.
booking_creating = _signals.signal("booking-creating")
# booking=Booking, actor=StaffUser or None (the patient), link=str or None (the private
# manage link, present only when it was just issued), prepared={booking_creating's receiver:
# what it returned} (absent, or without a receiver's entry, when not sent first).
booking_created = _signals.signal("booking-created")
# booking=Booking (already at its new time), previous_starts_at=datetime, actor, link.
booking_moved = _signals.signal("booking-moved")
# booking=Booking (status cancelled), actor, reason=str or None.
booking_cancelled = _signals.signal("booking-cancelled")
# booking=Booking, link=str (its new private manage link; the old one no longer works). The
# patient asked for the link again: it goes to the address on the patient's record only.
booking_link_reissued = _signals.signal("booking-link-reissued")
# booking=Booking (booked again), actor. Staff undid a cancellation the same day.
booking_restored = _signals.signal("booking-restored")
# (no other arguments) Hours were added or extended, a block or exception taken away, or the
# clinic's or a clinician's booking settings changed, so times may have opened: the waitlist
# offers them. Sent by booking.appointments.hours.opened.
hours_opened = _signals.signal("hours-opened")
# intake=Intake. A patient gave a crisis answer (PHQ-9 item 9 above 0, or thoughts of
# self-harm): staff should look now. Sent once per intake, while it may still be a draft.
# A notification built from it must carry no health data (say "an intake needs urgent
# attention" and link to the staff queue).
intake_urgent = _signals.signal("intake-urgent")
