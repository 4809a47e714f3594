"""Validate an iCalendar file with libical (run by the SYSTEM python3, which has gi + ICalGLib).

Reads the .ics text on stdin, parses it, runs libical's RFC 5546 restriction check on the
VCALENDAR and prints every X-LIC-ERROR it finds, one a line. Exit status 0 means none.
Debian: apt-get install gir1.2-ical-3.0 python3-gi.
"""

import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib  # noqa: E402


def errors_in(component):
    """Every distinct X-LIC-ERROR line libical wrote into `component` (and its children)."""
    unfolded = component.as_ical_string().replace("\r\n ", "").replace("\n ", "")
    found = []
    for line in unfolded.splitlines():
        if line.startswith("X-LIC-ERROR") and line not in found:
            found.append(line)
    return found


def main():
    """Parse stdin, check it, report."""
    text = sys.stdin.read()
    component = ICalGLib.Component.new_from_string(text)
    if component is None:
        print("libical could not parse the file")
        return 2
    if component.isa() != ICalGLib.ComponentKind.VCALENDAR_COMPONENT:
        print("not a VCALENDAR")
        return 2
    valid = ICalGLib.restriction_check(component)
    problems = errors_in(component)
    if component.count_components(ICalGLib.ComponentKind.ANY_COMPONENT) == 0:
        # RFC 5545 3.4: icalbody = calprops component, with component = 1*(...); libical lets it pass.
        problems.append("VCALENDAR holds no component (RFC 5545 requires at least one)")
    if not valid and not problems:
        problems.append("restriction_check returned false")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
