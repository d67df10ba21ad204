"""Prometheus metrics: ``GET /metrics`` behind its scope, the fan-out counted by channel and result, the queue's
depth read from Redis, and an ``alertsvc worker`` process serving its own on ``ALERTSVC_WORKER_METRICS_ADDR``.

Read back with ``prometheus_client``'s text parser from what the endpoint serves, as a scraper would.
"""

from __future__ import annotations

import math
import re
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from alertsvc.app import create_app
from alertsvc.dispatch.jobs import DELIVER
from alertsvc.embedded_redis import EmbeddedRedis, free_port
from alertsvc.metrics import parse_listen_address, serve_worker_metrics
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.api_keys import create_key
from alertsvc.security.scopes import Scope
from alertsvc.settings import Settings
from standins.twilio_api import TwilioStandin
from tests.conftest import KeyMaker, auth, make_settings, wait_for
from tests.factories import add_resident, cap_alert
from tests.integration.conftest import WorkerProcesses
from tests.integration.test_crash_safety import add_residents, crash, submit, until_done, worker_env
from tests.integration.test_fanout import run_worker

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text page, keyed by (sample name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient, key: str) -> Samples:
    response = await client.get("/metrics", headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


async def test_metrics_need_a_key_with_the_metrics_scope(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=auth(await make_key("alerts:read")))).status_code == 403
    samples = await scrape(client, await make_key("metrics:read"))
    assert ("alertsvc_queued_jobs", frozenset({("state", "ready")})) in samples
    assert ("alertsvc_queued_jobs", frozenset({("state", "deferred")})) in samples


async def test_a_fan_out_is_counted_by_channel_and_result(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    """The API process runs no worker here, so its page shows what this test's in-process worker did."""
    scraper = await make_key("metrics:read")
    for n in range(3):
        await add_resident(runtime.sessions, 45.5, -72.5 + n / 100, sms=f"+1514555020{n}")
    await add_resident(runtime.sessions, 45.5, -72.4, sms="+15145550210", email="counted@example.org")
    await add_resident(runtime.sessions, 44.0, -72.5, sms="+15145550299")  # outside: neither planned nor sent
    before = await scrape(client, scraper)

    response = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(await make_key("alerts:send")))
    assert response.status_code == 201, response.text
    queued = await scrape(client, scraper)
    assert value(queued, "alertsvc_queued_jobs", state="ready") >= 1  # the fan-out job, not yet taken
    await run_worker(runtime)
    after = await scrape(client, scraper)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("alertsvc_deliveries_total", channel="sms", result="sent") == 4
    assert delta("alertsvc_deliveries_total", channel="email", result="sent") == 1
    assert delta("alertsvc_deliveries_planned_total", channel="sms") == 4
    assert delta("alertsvc_send_seconds_count", channel="sms") == 4
    assert delta("alertsvc_send_seconds_count", channel="email") == 1
    assert delta("alertsvc_fanout_seconds_count") == 1
    assert value(after, "alertsvc_queued_jobs", state="ready") == 0


async def test_queue_depth_tells_ready_from_deferred_jobs(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    await runtime.redis.enqueue_job(DELIVER, "a", "sms", [1], _job_id="metrics-now")
    await runtime.redis.enqueue_job(DELIVER, "a", "sms", [2], _job_id="metrics-later", _defer_by=600)
    samples = await scrape(client, await make_key("metrics:read"))
    assert value(samples, "alertsvc_queued_jobs", state="ready") == 1
    assert value(samples, "alertsvc_queued_jobs", state="deferred") == 1


async def test_a_redis_gone_gives_nan_not_an_error(tmp_path: Path, database_url: str) -> None:
    """A scrape during a Redis outage still answers, with the queue's depth unknown (NaN), not a 500."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False).start()
    runtime = await open_runtime(make_settings(tmp_path, database_url, server.url))
    try:
        async with runtime.sessions() as session, session.begin():
            key = await create_key(session, "scraper", frozenset({Scope.METRICS_READ}), actor="test")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://testserver"
        ) as client:
            assert value(await scrape(client, key), "alertsvc_queued_jobs", state="ready") == 0
            crash(server)
            samples = await scrape(client, key)
        assert math.isnan(value(samples, "alertsvc_queued_jobs", state="ready"))
    finally:
        await runtime.close()
        crash(server)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9101", ("127.0.0.1", 9101)), (":9101", ("0.0.0.0", 9101)), ("[::1]:9", ("::1", 9))],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen_address(text) == expected


@pytest.mark.parametrize("text", ["9101", "localhost", "host:0", "host:65536", "host:port"])
def test_an_unusable_worker_metrics_address_is_refused_at_start_up(text: str) -> None:
    with pytest.raises(ValidationError, match="worker_metrics_addr"):
        Settings(_env_file=None, worker_metrics_addr=text)  # type: ignore[call-arg]


def test_a_taken_worker_metrics_address_is_a_plain_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=f"cannot serve worker metrics on 127.0.0.1:{port}"):
            serve_worker_metrics(f"127.0.0.1:{port}")


def test_the_example_alerting_rules_use_only_metrics_we_serve() -> None:
    """``config/prometheus/alertsvc.rules.yml`` must not drift from the metrics' names (``promtool check rules``
    checks its syntax, not that the series exist)."""
    served = {"up"}
    for family in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        served.update(family.name + suffix for suffix in suffixes)
    rules = yaml.safe_load((ROOT / "config" / "prometheus" / "alertsvc.rules.yml").read_text(encoding="utf-8"))
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    series = re.compile(r"\b(?:alertsvc_\w+|up)\b(?=[{\[\s)])")  # a name followed by labels, a range or a space
    used = {name for expression in expressions for name in series.findall(expression)}
    assert used >= {"alertsvc_deliveries_total", "alertsvc_queued_jobs", "alertsvc_send_seconds_bucket"}
    assert used <= served, used - served


def test_the_example_prometheus_files_pass_promtool(tmp_path: Path) -> None:
    """``promtool check config`` on the scrape configuration, and the rules' own unit tests
    (``alertsvc.rules.test.yml``: each alert fires when it should and the rate-limited fan-out raises none)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus): the alerting rules' unit tests did not run")
    source = ROOT / "config" / "prometheus"
    key = tmp_path / "alertsvc-metrics-key"
    key.write_text("a-metrics-read-key\n")
    config = (source / "prometheus.yml").read_text(encoding="utf-8")
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/alertsvc-metrics-key", str(key)))
    for name in ("alertsvc.rules.yml", "alertsvc.rules.test.yml"):
        shutil.copy(source / name, tmp_path / name)
    for command in (["check", "config", "prometheus.yml"], ["test", "rules", "alertsvc.rules.test.yml"]):
        result = subprocess.run([promtool, *command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


# --- a real worker process ---------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_worker_process_serves_its_own_metrics(
    tmp_path: Path,
    database_url: str,
    clean_redis: str,
    runtime: Runtime,
    client: httpx.AsyncClient,
    make_key: KeyMaker,
    twilio: TwilioStandin,
    workers: WorkerProcesses,
) -> None:
    residents = 40
    await add_residents(runtime, residents)
    port = free_port()
    workers.start(worker_env(tmp_path, database_url, clean_redis, twilio, worker_metrics_addr=f"127.0.0.1:{port}"), "w")
    alert_id = await submit(client, await make_key("alerts:send"))
    await until_done(runtime, alert_id, residents, within=40)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as scraper:

        async def counted() -> bool:
            response = await scraper.get("/metrics")
            sent = value(parse(response.text), "alertsvc_deliveries_total", channel="sms", result="sent")
            return response.status_code == 200 and sent == residents

        await wait_for(counted, within=10)
        samples = parse((await scraper.get("/metrics")).text)
    assert value(samples, "alertsvc_send_seconds_count", channel="sms") == residents
    assert value(samples, "alertsvc_deliveries_planned_total", channel="sms") == residents
    assert value(samples, "alertsvc_fanout_seconds_count") == 1
    assert "+1438" not in str(samples)  # counts and timings only, never a number
