"""Take the README's screenshots from a running instance (`make run` in another terminal).

    .venv/bin/python docs/screenshots.py [--url http://127.0.0.1:8000] [--user ann]

Drives Debian's Chromium through Playwright and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's modules

from tests.support.browser import launch_chromium  # the browser tests' Chromium launch

OUT = Path(__file__).resolve().parent / "screenshots"
PAGES = [
    ("dashboard", "/"),
    ("models", "/models/"),
    ("model", "/models/credit-default-classifier/"),
    ("version", "/models/credit-default-classifier/versions/3/"),
    ("compare", "/compare/?model=credit-default-classifier&versions=1,2,3"),
    ("promotions", "/promotions/"),
    ("card", "/models/credit-default-classifier/versions/3/card/"),
    ("audit", "/audit/"),
    ("policy", "/policy/"),
    ("sync", "/sync/"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="ann")
    parser.add_argument("--password", default="demo-pass-2026")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{args.url}/accounts/login/")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for name, path in PAGES:
            response = page.goto(args.url + path)
            if response is None or response.status != 200:
                print(f"skip {name}: {path} answered {response.status if response else 'nothing'}")
                continue
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)  # charts finish drawing
            target = OUT / f"{name}.png"
            page.screenshot(path=str(target), full_page=False)
            print(f"wrote {target.relative_to(OUT.parent.parent)}")
        browser.close()


if __name__ == "__main__":
    main()
