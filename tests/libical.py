"""Run libical's RFC 5546 checker (tests/libical_check.py) under the system python3."""

import functools
import subprocess
from pathlib import Path

from tests.conftest import require_or_skip

SYSTEM_PYTHON = "/usr/bin/python3"
CHECKER = Path(__file__).with_name("libical_check.py")


@functools.cache
def _libical_installed():
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"],
                           capture_output=True, text=True, check=False)
    return probe.returncode == 0


def require_libical():
    """Skip the calling test when libical is missing (fail under REQUIRE_ALL_TESTS=1).

    A skip ends the whole test, so a test calls this (through `libical_problems`) only when the
    libical check is all it does: every other assertion lives in a test that never skips."""
    if not _libical_installed():
        require_or_skip("libical not available: apt-get install gir1.2-ical-3.0 python3-gi")


def libical_problems(ics_text):
    """The X-LIC-ERROR lines libical reports for `ics_text` (empty when it is valid)."""
    require_libical()
    result = subprocess.run([SYSTEM_PYTHON, str(CHECKER)], input=ics_text, capture_output=True, text=True,
                            timeout=60, check=False)
    if result.returncode not in (0, 1):
        raise AssertionError(f"libical checker crashed: {result.stdout}{result.stderr}")
    return result.stdout.splitlines()
