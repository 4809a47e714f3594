"""Walk-ins: the time "Book now" gives a patient standing at the desk. Free of Flask."""

from booking.appointments.availability import candidate_slots, clinic_day, load_plans, overlaps_busy
from booking.appointments.bookings import NotBookable


def walk_in_slot(session, ctx, clinician_id=None):
    """The free slot running now (started, not yet ended) or the next free one today, of `clinician_id`
    (None: any clinician), earliest first. Raises NotBookable when nothing is left today."""
    today = clinic_day(ctx.now, ctx.zone)
    plans = load_plans(session, today, today, ctx.zone, None if clinician_id is None else [clinician_id])
    free = [slot for plan in plans for slot in candidate_slots(plan, ctx.zone, today, today)
            if slot.ends_at > ctx.now and not overlaps_busy(slot, plan.busy)]
    if not free:
        raise NotBookable("No free time is left today" + (" with that clinician" if clinician_id else "")
                          + ". Choose a time below, or give a reason to book one off the grid.")
    return min(free, key=lambda slot: (slot.starts_at, slot.clinician_id))
