"""The app for tests that run gunicorn: configuration comes as JSON in TEST_APP_CONFIG."""

import json
import os

from booking import create_app

app = create_app(json.loads(os.environ["TEST_APP_CONFIG"]))
