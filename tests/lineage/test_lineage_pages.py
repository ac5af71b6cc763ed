"""The version lineage page: the graph laid out on the server, embedded for cytoscape.js; the version page's link."""

import json

import pytest

from lineage import layout
from tests.lineage.test_lineage_api import govern, seed

pytestmark = pytest.mark.django_db

URL = "/lineage/churn/1/"


def embedded(response):
    html = response.content.decode()
    start = html.index('<script id="lineage-data" type="application/json">') + len(
        '<script id="lineage-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_page_embeds_the_graph_laid_out_left_to_right_with_links(client, user):
    mv = seed(chain=2)
    govern(mv)
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "js/lineage.js" in response.content.decode()
    graph = embedded(response)
    x = {n["type"]: n["position"]["x"] for n in graph["nodes"] if n["type"] != "run"}
    runs = {n["id"]: n["position"]["x"] for n in graph["nodes"] if n["type"] == "run"}
    assert x["dataset"] < min(runs.values()) and x["code"] < min(runs.values())
    assert runs["run:parent1"] < runs["run:runchurn1"] < x["model_version"]
    assert x["model_version"] < x["target"] and x["model_version"] < x["promotion"]
    links = {n["type"]: n["links"] for n in graph["nodes"]}
    assert links["model_version"][0]["href"] == "/models/churn/versions/1/"
    assert links["registered_model"][0]["href"] == "/models/churn/"
    run_links = next(n["links"] for n in graph["nodes"] if n["id"] == "run:runchurn1")
    assert run_links[0]["href"].startswith("/compare/?model=churn&versions=1")


def test_unknown_model_or_version_is_the_styled_404_and_anonymous_users_log_in(client, user):
    seed()
    assert client.get(URL).status_code in (302, 403)
    client.force_login(user)
    for path in ("/lineage/nope/1/", "/lineage/churn/9/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()
    assert client.get(URL + "?depth=x").status_code == 200


def test_the_version_page_links_to_its_lineage(client, user):
    seed()
    client.force_login(user)
    assert 'href="/lineage/churn/1/"' in client.get("/models/churn/versions/1/").content.decode()


def test_the_layout_is_stable_layered_and_survives_a_loop():
    nodes = [{"id": f"run:{i}", "type": "run", "label": str(i)} for i in "abc"]
    nodes.append({"id": "dataset:d", "type": "dataset", "label": "d"})
    edges = [
        {"source": "run:a", "target": "run:b", "type": "child_of"},
        {"source": "run:b", "target": "run:a", "type": "child_of"},
        {"source": "run:c", "target": "dataset:d", "type": "trained_on"},
    ]
    first = layout.positions(nodes, edges)
    assert first == layout.positions(list(reversed(nodes)), edges)
    assert first["dataset:d"]["x"] < first["run:c"]["x"]
    assert len({(p["x"], p["y"]) for p in first.values()}) == len(nodes)


def test_the_dataset_page_merges_every_downstream_version_and_says_how_many(client, user):
    seed(versions=3)
    client.force_login(user)
    response = client.get("/lineage/dataset/?digest=d0")
    assert response.status_code == 200
    assert "3 versions" in response.content.decode()
    graph = embedded(response)
    ids = {n["id"] for n in graph["nodes"]}
    assert {"dataset:d0", "dataset:d1", "registered_model:churn"} <= ids
    assert {f"model_version:churn/{v}" for v in (1, 2, 3)} <= ids
    assert len([i for i in ids if i == "dataset:d0"]) == 1
    run = next(n for n in graph["nodes"] if n["id"] == "run:runchurn2")
    assert run["links"][0]["href"] == "/compare/?model=churn&versions=2"
    dataset_node = next(n for n in graph["nodes"] if n["id"] == "dataset:d0")
    assert dataset_node["links"][0]["href"] == "/lineage/dataset/?digest=d0"
    for path in ("/lineage/dataset/?digest=nope", "/lineage/dataset/"):
        assert client.get(path).status_code == 404


def test_the_model_page_merges_its_versions_graphs(client, user):
    seed(versions=3, chain=2)
    client.force_login(user)
    response = client.get("/models/churn/lineage/")
    assert response.status_code == 200
    graph = embedded(response)
    ids = [n["id"] for n in graph["nodes"]]
    assert len(ids) == len(set(ids))
    assert {f"model_version:churn/{v}" for v in (1, 2, 3)} | {"run:parent1", "dataset:d0"} <= set(ids)
    model = next(n for n in graph["nodes"] if n["type"] == "registered_model")
    assert [link["href"] for link in model["links"]] == ["/models/churn/", "/models/churn/lineage/"]
    assert client.get("/models/nope/lineage/").status_code == 404


def test_the_model_page_links_to_every_versions_lineage_and_the_version_page_does_not(client, user):
    seed()
    client.force_login(user)
    assert 'href="/models/churn/lineage/"' in client.get("/models/churn/").content.decode()
    assert 'href="/models/churn/lineage/"' not in client.get("/models/churn/versions/1/").content.decode()
