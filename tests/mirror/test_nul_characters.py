"""Anyone who may write in MLflow may put a NUL character in a tag, a description or a dataset name.
PostgreSQL stores no NUL in text or jsonb, so one such value would stop every sync: the gateway drops NULs
from every JSON answer of MLflow's REST API (keys and strings, nested too) before anything reads it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mirror import gateway, mlflow_data

ANSWER = {
    "registered_model": {
        "name": "churn\u0000",
        "description": "good\u0000 model",
        "tags": [{"key": "team\u0000", "value": "risk\u0000"}],
        "aliases": [],
        "latest_versions": [{"version": "1", "tags": [{"key": "k", "value": ["a\u0000", "b"]}]}],
    }
}


def test_nul_characters_are_dropped_from_keys_strings_and_nested_lists():
    cleaned = json.loads(json.dumps(ANSWER), object_hook=mlflow_data.without_nul)
    assert "\u0000" not in json.dumps(cleaned)
    model = cleaned["registered_model"]
    assert model["name"] == "churn"
    assert model["tags"] == [{"key": "team", "value": "risk"}]
    assert model["latest_versions"][0]["tags"][0]["value"] == ["a", "b"]


def test_an_answer_is_walked_for_nul_characters_only_when_it_carries_one():
    with_nul = json.dumps(ANSWER).encode()
    assert mlflow_data.loads_without_nul(with_nul) == json.loads(
        with_nul, object_hook=mlflow_data.without_nul
    )
    # A backslash followed by "u0000" is text, not a NUL: kept as it is, whichever way it is decoded.
    backslash = {"description": "see C:\\u0000 and \\\u0000", "tags": [{"key": "k", "value": "v"}]}
    assert mlflow_data.loads_without_nul(json.dumps(backslash).encode()) == {
        "description": "see C:\\u0000 and \\",
        "tags": [{"key": "k", "value": "v"}],
    }


@pytest.fixture
def mlflow_answering_nul(settings):
    body = json.dumps(ANSWER).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # the http.server API names it
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{server.server_address[1]}"
    yield
    server.shutdown()


def test_a_model_read_over_http_carries_no_nul_character(mlflow_answering_nul):
    model = gateway.get_model("churn")
    assert model.name == "churn"
    assert model.description == "good model"
    assert "\u0000" not in json.dumps(model.tags)
