"""A bare Flask "hello" app: the benchmark's yardstick, served the same way as the real one."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    """The smallest useful response."""
    return "hello"
