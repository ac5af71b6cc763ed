"""Model card API calls: the card URL of a version of "churn", a PUT with If-Match, a card with every human
section written."""

from cards.sections import HUMAN_SECTIONS

URL = "/api/v1/models/churn/versions/{v}/card"


def put(client, version, markdown, etag='"1"', **extra):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.put(URL.format(v=version), {"markdown": markdown, **extra}, format="json", **headers)


def written(markdown: str) -> str:
    for key, (_, placeholder) in HUMAN_SECTIONS.items():
        markdown = markdown.replace(placeholder, f"Written {key} text.")
    return markdown
