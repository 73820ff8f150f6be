"""``GET /healthz`` of the dashboard: what a load balancer checks on each replica."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_healthz_answers_without_a_session(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200 and await response.text() == "ok"
    assert "Set-Cookie" not in response.headers


async def test_healthz_is_503_when_the_database_is_gone(client: TestClient, db) -> None:
    await db.close()
    response = await client.get("/healthz")
    assert response.status == 503
