"""All tables. Each feature keeps its models in its own module here."""

from booking.models.staff import ROLES, RecoveryCode, SignInFailure, StaffSession, StaffUser  # noqa: F401
from booking.models.audit import AuditEvent  # noqa: F401
from booking.models.patients import *  # noqa: F401,F403
from booking.models.intake import *  # noqa: F401,F403
from booking.models.appointments import *  # noqa: F401,F403
from booking.models.outbox import *  # noqa: F401,F403
from booking.models.calendar import *  # noqa: F401,F403
from booking.models.waitlist import *  # noqa: F401,F403
