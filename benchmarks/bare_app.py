"""The baseline for benchmarks/load.py: a bare Flask view served with the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    """Say hello, and nothing else."""
    return "Hello"
