"""/docs and /redoc load their assets from the app itself, never from a CDN."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from proctor.config import Settings
from proctor.main import create_app


def test_docs_assets_are_served_by_the_app(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", broker_url=None,
                              redis_url=None, blob_dir=tmp_path / "blobs"))
    client = TestClient(app)
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert urls, page
        assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], (page, urls)
        for url in urls:
            if url.startswith("/docs-static/"):
                response = client.get(url)
                assert response.status_code == 200 and len(response.content) > 500, url
