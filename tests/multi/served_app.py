"""The app as the harness serves it: `create_app` with the JSON settings in BOOKING_TEST_CONFIG.

gunicorn (`tests.multi.served_app:app`) and `flask --app tests.multi.served_app` both load
this, so every process of a run shares one configuration without an instance/config.py.
"""

import json
import os

from booking import create_app

app = create_app(json.loads(os.environ["BOOKING_TEST_CONFIG"]))
