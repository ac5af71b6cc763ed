"""The REST API over HTTP: the token header, bounded retries on network errors and 5xx, errors as CliError
carrying the API's `detail`."""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import quote

import requests

from registry_cli import exits
from registry_cli.config import Config
from registry_cli.exits import CliError

RETRY_STATUSES = {502, 503, 504}
STATUS_EXITS = {401: exits.AUTH, 403: exits.AUTH, 404: exits.NOT_FOUND}


def segment(value: Any) -> str:
    """A model name (or any value) as one URL path segment."""
    return quote(str(value), safe="")


def detail_of(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return body["detail"]
        return "; ".join(
            f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in body.items()
        )
    return str(body)[:300]


class Api:
    def __init__(self, config: Config, *, retries: int | None = None, timeout: float = 30.0):
        self.base = config.url
        self.retries = int(os.environ.get("REGISTRY_RETRIES", "3")) if retries is None else retries
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Token {config.token}",
                "Accept": "application/json",
                "User-Agent": "registry-cli",
            }
        )

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base}/api/v1/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        cause = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                cause = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRY_STATUSES:
                cause = f"HTTP {response.status_code} {detail_of(response)}"
                continue
            if response.status_code >= 400:
                code = STATUS_EXITS.get(response.status_code, exits.ERROR)
                if response.status_code >= 500:
                    code = exits.NETWORK
                raise CliError(f"{response.status_code}: {detail_of(response)}", code)
            return response
        raise CliError(
            f"Cannot reach {self.base} ({method} {url}) after {self.retries + 1} attempts: {cause}",
            exits.NETWORK,
        )

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, body: dict | None = None) -> Any:
        response = self.request("POST", path, json=body or {})
        return response.json() if response.content else {}

    def pages(self, path: str, limit: int = 100, **params) -> list:
        """Every item of a paginated list (following `next`, at most `limit` pages)."""
        items: list = []
        body = self.get(path, page_size=500, **params)
        for _ in range(limit):
            items.extend(body.get("results", []))
            if not body.get("next"):
                break
            body = self.get(body["next"])
        return items

    def download(self, path: str, out_path: str, params: dict | None = None) -> int:
        """Stream a file answer to `out_path`; returns its size in bytes."""
        response = self.request("GET", path, params=params, stream=True)
        size = 0
        with open(out_path, "wb") as out:
            for chunk in response.iter_content(chunk_size=1 << 16):
                out.write(chunk)
                size += len(chunk)
        return size
