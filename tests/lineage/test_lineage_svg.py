"""One server-side SVG renderer of a laid-out lineage graph: the SVG download of the lineage pages, the compact
graph on the version page and the image in card exports. Labels come from MLflow tags anyone may write: every
one is escaped, and the SVG stays well-formed XML whatever they hold."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from xml.etree import ElementTree

import pytest

from cards import bulk, exports, services
from lineage import layout, svg
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests.factories import mlflow_logged_model, mlflow_model, mlflow_run, mlflow_version, snapshot

HOSTILE = '<script>alert(1)</script> & "quoted" \x00\x07 ]]>'
MIRRORED = HOSTILE.replace("\x00", "")  # PostgreSQL's jsonb holds no NUL: the mirror never sees one there
SVG_NS = "{http://www.w3.org/2000/svg}"


def seed(run_name="train-run"):
    run = mlflow_run("run1", datasets=[{"name": MIRRORED, "digest": "d1", "source_type": "s3", "source": "s3://b",
                                        "context": "training"}])  # fmt: skip
    run = type(run)(**{**run.__dict__, "run_name": run_name})
    version = mlflow_version("churn", 1, run_id="run1", model_id="m-1")
    apply_snapshot(snapshot([mlflow_model("churn")], [version], {"run1": run},
                            logged_models=[mlflow_logged_model("m-1", "run1", name="clf")]))  # fmt: skip
    return ModelVersion.objects.get(model__name="churn", version=1)


def parsed(document: str) -> ElementTree.Element:
    root = ElementTree.fromstring(document)
    assert root.tag == f"{SVG_NS}svg"
    assert not [e for e in root.iter() if e.tag.removeprefix(SVG_NS) in {"script", "foreignObject", "style"}]
    return root


def texts(root) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG_NS}text")]


def test_the_renderer_escapes_every_label_and_stays_well_formed_xml():
    graph = {
        "nodes": [{"id": "run:r", "type": "run", "label": HOSTILE, "attrs": {}, "links": [{"href": "javascript:x"}]},
                  {"id": "dataset:d", "type": "dataset", "label": "d", "attrs": {}}],
        "edges": [{"source": "run:r", "target": "dataset:d", "type": "trained_on", "attrs": {}}],
    }  # fmt: skip
    document = svg.render(layout.with_positions(graph), title=HOSTILE, links=True)
    root = parsed(document)
    assert "<script>" not in document and "\x00" not in document
    assert any(t.startswith("<script>alert(1)") for t in texts(root))  # shown as text, cut to fit
    assert "javascript:" not in document  # a link only to our own pages' paths
    assert len(root.findall(f"{SVG_NS}g/{SVG_NS}line")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/lineage/churn/1/?format=svg",
        "/models/churn/lineage/?format=svg",
        "/lineage/dataset/?digest=d1&format=svg",
    ],
)
def test_each_lineage_page_downloads_its_graph_as_svg(client, user, url):
    seed()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    labels = texts(parsed(response.content.decode()))
    assert {"train-run", "clf", "churn v1"} <= set(labels)


@pytest.mark.django_db
def test_the_lineage_page_offers_the_svg_download(client, user):
    seed()
    client.force_login(user)
    html = client.get("/lineage/churn/1/").content.decode()
    assert 'id="lineage-svg" href="?format=svg" download' in html


@pytest.mark.django_db
def test_the_version_page_shows_a_compact_graph_linking_to_the_full_one(client, user):
    seed(run_name=MIRRORED)
    client.force_login(user)
    html = client.get("/models/churn/versions/1/").content.decode()
    compact = re.search(
        r'<a class="lineage-compact" id="lineage-compact" href="([^"]+)"[^>]*><span [^>]*hx-get="([^"]+)" '
        r'hx-trigger="load"',
        html,
    )
    assert compact and compact.group(1) == "/lineage/churn/1/"
    assert compact.group(2) == "/lineage/churn/1/compact/"
    fragment = client.get(compact.group(2))
    assert fragment.status_code == 200 and fragment["Content-Type"].startswith("text/html")
    labels = texts(parsed(fragment.content.decode()))
    assert {"clf", "churn v1"} <= set(labels)
    assert "<script>alert" not in html + fragment.content.decode()
    assert "Logged model" in html and "m-1" in html


@pytest.mark.django_db
def test_the_compact_graph_is_only_for_signed_in_users_who_may_see_the_version(client, user):
    seed(run_name=MIRRORED)
    assert client.get("/lineage/churn/1/compact/").status_code == 302  # to the login page
    client.force_login(user)
    assert client.get("/lineage/churn/9/compact/").status_code == 404
    assert client.post("/lineage/churn/1/compact/").status_code in (403, 405)


@pytest.mark.django_db
def test_card_exports_carry_the_lineage_graph_as_an_image_and_the_zip_as_a_file():
    mv = seed()
    rev = services.ensure_card(mv=mv)
    html = exports.export_card(mv, rev, "html").content.decode()
    src = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert src and "clf" in texts(parsed(base64.b64decode(src.group(1)).decode()))
    assert exports.export_card(mv, rev, "pdf").content.startswith(b"%PDF")  # WeasyPrint draws the SVG image
    out = io.BytesIO()
    index = bulk.build_zip(versions=[mv], formats=["md"], out=out)
    with zipfile.ZipFile(out) as zf:
        parsed(zf.read("churn/v1/lineage.svg").decode())
    assert index[0]["files"]["lineage_svg"]["path"] == "churn/v1/lineage.svg"
