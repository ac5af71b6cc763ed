"""Static files as production (and `make run`) serve them: whitenoise's compressed manifest storage.

With DEBUG off `{% static %}` looks names up in the manifest that collectstatic writes, and a name that is
not there is a 500 on every page that uses it — which DEBUG-on tests never see. So every name the templates
ask for must exist in the static sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from tests.support.deploy import production_env, run

REPO = Path(__file__).resolve().parents[2]
STATIC_TAG = re.compile(r"""\{%\s*static\s+['"]([^'"]+)['"]""")


def _template_static_names() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for folder in ("templates", "mirror", "cards", "compare", "approvals", "audit", "lineage", "demo"):
        for template in (REPO / folder).rglob("*.html"):
            for name in STATIC_TAG.findall(template.read_text()):
                names.setdefault(name, []).append(str(template.relative_to(REPO)))
    return names


def test_every_static_file_a_template_names_exists():
    names = _template_static_names()
    assert "vendor/htmx/htmx.min.js" in names  # the scan sees the templates
    missing = {name: where for name, where in names.items() if finders.find(name) is None}
    assert missing == {}


@pytest.mark.postgres_pass_only
def test_production_stores_static_files_hashed_and_compressed(tmp_path):
    code = (
        "from django.conf import settings; from django.core.files.storage import storages; "
        "s = storages['staticfiles']; "
        "print(type(s).__mro__[1].__module__ + '.' + type(s).__mro__[1].__name__, s.manifest_strict)"
    )
    result = run(["manage.py", "shell", "-c", code], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "True",
    ]


def test_static_files_get_brotli_and_gzip_copies(tmp_path):
    from registry_ui.staticfiles import CompressedManifestStorage

    source = tmp_path / "app.js"
    source.write_text("function f(a) { return a + 1; }\n" * 20000)
    storage = CompressedManifestStorage(location=str(tmp_path))
    compressor = storage.create_compressor(extensions=None, quiet=True)
    written = sorted(Path(p).name for p in compressor.compress(str(source)))
    assert written == ["app.js.br", "app.js.gz"]
