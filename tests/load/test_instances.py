"""Two app instances on one PostgreSQL and one Redis, as deployed beyond one box.

Two gunicorn servers (one worker each, like two machines) serve the same database; their rate
limits count in one real Redis server (`RATELIMIT_STORAGE_URI=redis://...`). With the default
`memory://` each process would count on its own: these tests fail then, since every limit below
is only reached by adding up what both instances saw.
"""

from __future__ import annotations

import pytest
import requests

from tests.load import harness

pytestmark = pytest.mark.postgres

FAILED_LIMIT = 4  # candidate links that fail to open, per address, in 10 minutes
API_LIMIT = 5  # API requests per key and minute


@pytest.fixture
def instances(tmp_path, pg_server, redis_server):
    import redis

    redis.Redis.from_url(redis_server).flushall()
    url = harness.create_pg_database(pg_server, "recruit_instances")
    instance = tmp_path / "instance"
    instance.mkdir()
    env = harness.server_env(url, instance, "http://127.0.0.1")
    env.update(
        RATELIMIT_STORAGE_URI=redis_server,
        RECRUIT_RATELIMIT_CANDIDATE_FAILED=f"{FAILED_LIMIT} per 10 minutes",
        RECRUIT_RATELIMIT_API=f"{API_LIMIT} per minute",
    )
    harness.migrate(url, env)
    seeded = harness.seed(url, instance, harness.Options(candidates=1, recruiters=1, hr=0))
    servers = []
    try:
        for name in ("a", "b"):
            workdir = tmp_path / name
            workdir.mkdir()
            server = harness.Gunicorn(workdir, {}, workers=1, threads=1)
            server.env = {**env, "RECRUIT_BASE_URL": server.base_url}
            server.start()
            servers.append(server)
        yield servers, seeded, url, instance
    finally:
        for server in servers:
            server.stop()


def test_failed_link_lookups_add_up_across_instances(instances):
    (a, b), seeded, _url, _instance = instances
    token = seeded.tokens[0]
    for i in range(FAILED_LIMIT):
        server = (a, b)[i % 2]
        guess = requests.get(f"{server.base_url}/t/{'x' * 30}{i}", timeout=10)
        assert guess.status_code == 404
    # Two failures on each instance: the address is now refused by both, even for a good link.
    for server in (a, b):
        refused = requests.get(f"{server.base_url}/t/{token}", timeout=10)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0


def _login(server, email: str, password: str) -> int:
    session = requests.Session()
    page = session.get(f"{server.base_url}/login", timeout=10)
    csrf = harness.hidden_value(page.text, "csrf_token")
    response = session.post(
        f"{server.base_url}/login",
        data={"csrf_token": csrf, "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code


def test_failed_logins_on_one_account_add_up_across_instances(instances):
    (a, b), seeded, _url, _instance = instances
    email = seeded.recruiters[0]
    # Five failures from an address the user never logged in from, alternating instances:
    # they are free; the next attempt must wait a second after the fifth, on either instance.
    statuses = [_login((a, b)[i % 2], email, "not the password") for i in range(5)]
    assert statuses == [401] * 5
    # Even the right password, on both instances, must wait now: the count is shared (the
    # attempts below check no password and take milliseconds, well within that second).
    assert [_login(server, email, harness.PASSWORD) for server in (a, b)] == [429, 429]


def test_failed_logins_from_one_address_add_up_across_instances(instances):
    (a, b), _seeded, _url, _instance = instances
    # 20 failures a minute per address (on accounts that do not exist, so that no account's
    # own throttle is involved), ten on each instance; successes would not count.
    statuses = [
        _login((a, b)[i % 2], f"nobody{i}@example.org", "not the password") for i in range(21)
    ]
    assert statuses == [401] * 20 + [429]


def test_an_api_key_is_limited_across_instances(instances):
    (a, b), _seeded, url, instance = instances
    key = _api_key(url, instance)
    headers = {"Authorization": f"Bearer {key}"}
    statuses = [
        requests.get(
            f"{(a, b)[i % 2].base_url}/api/v1/forms", headers=headers, timeout=10
        ).status_code
        for i in range(API_LIMIT + 1)
    ]
    assert statuses == [200] * API_LIMIT + [429]


def _api_key(url, instance) -> str:
    from recruit import create_app
    from recruit.extensions import db
    from recruit.services import apikeys, invitations

    with harness._environ(RECRUIT_INSTANCE_PATH=str(instance), SECRET_KEY=harness.SECRET_KEY):
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": harness.SECRET_KEY,
                "QUESTIONS_DIR": str(harness.BANK_DIR),
                "MAIL_WORKER": "off",
            }
        )
    with app.app_context():
        organisation = invitations.find_organisation(harness.ORGANISATION)
        _, key = apikeys.create_key(organisation, "ATS")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return key
