"""Locust scenario of bench/load_bench.py: readers, rotation staff and point operators on one server.

Run by load_bench.py as `locust -f bench/load_locustfile.py --headless ...` in its own process. It
reads the plan (queries, accounts, batches, shipments) from the JSON file named by LOAD_PLAN and writes
every request's name, time and outcome to the JSON file named by LOAD_OUT when the test stops, so the
bench computes exact percentiles itself. Environment: LOAD_PLAN, LOAD_OUT, LOAD_WAIT ("1,3": think
time in seconds between a user's requests), LOAD_STAFF and LOAD_OPERATORS (how many of the users are
staff and point operators; the others are readers of the public catalogue).

The server runs the production configuration, whose cookies are marked Secure (it expects TLS at
nginx). The bench talks plain HTTP on the loopback, so the users' cookie jars send Secure cookies over
http, as a browser behind the TLS proxy would. Each user also sends its own X-Forwarded-For address
(the server trusts one proxy hop), so the per-address limits count each simulated reader apart, as
they would count real readers behind nginx.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from pathlib import Path

from locust import HttpUser, between, events, task
from requests.cookies import RequestsCookieJar

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
WAIT = tuple(float(x) for x in os.environ.get("LOAD_WAIT", "1,3").split(","))
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
COUNT_RE = re.compile(r'name="received_count"[^>]*\bvalue="(\d+)"')
_numbers = itertools.count(1)
_staff_accounts = itertools.count(0)
_operator_accounts = itertools.count(0)
_samples: list[tuple[str, float, bool, str, float]] = []
_spawned: list[float] = []
_lock = threading.Lock()


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response, context, exception, **_kw):
    started = time.time() - response_time / 1000
    error = "" if exception is None else str(exception)
    with _lock:
        _samples.append((name, float(response_time), exception is None, error, started))


@events.spawning_complete.add_listener
def _all_started(user_count, **_kw):
    _spawned.append(time.time())


@events.test_stop.add_listener
def _write(**_kw):
    out = os.environ.get("LOAD_OUT")
    if out:
        with _lock:
            data = {"spawned_at": _spawned[0] if _spawned else None, "samples": _samples}
            Path(out).write_text(json.dumps(data), encoding="utf-8")


class PlainHttpJar(RequestsCookieJar):
    """A cookie jar that sends Secure cookies over http too (the bench has no TLS proxy in front)."""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


class _User(HttpUser):
    """Common set-up: its own address, cookies over plain http, a think time between requests."""

    abstract = True
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        n = next(_numbers)
        self.rng = random.Random(n)
        self.client.headers["X-Forwarded-For"] = f"10.{n // 250 % 250}.{n % 250}.{1 + n // 62500}"
        self.client.cookies = PlainHttpJar()

    def get(self, path: str, name: str, params: dict | None = None):
        """GET a page without following redirects: anything but 200 is a failure (a redirect to login too)."""
        with self.client.get(
            path, params=params, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                where = response.headers.get("Location", "") or str(response.error or "")
                response.failure(f"{name}: HTTP {response.status_code} {where}".strip())
        return response

    def login(self, username: str) -> None:
        """Open the login form and sign in (the POST alone is timed as "login")."""
        self.client.cookies.clear()
        page = self.get("/login", "login form")
        token = CSRF_RE.search(page.text)
        data = {"csrf_token": token[1] if token else "", "username": username, "password": PLAN["password"]}
        with self.client.post(
            "/login", data=data, name="login", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
                response.failure(f"login of {username} refused: HTTP {response.status_code}")

    def opac_search(self, next_page: bool = False) -> None:
        params = dict(self.rng.choice(PLAN["queries"]))
        if next_page:
            params["page"] = self.rng.choice((2, 2, 3, 5))
        self.get("/opac/", "OPAC search, next page" if next_page else "OPAC search", params)


class Reader(_User):
    """A reader of the public catalogue: searches, goes to the next page, opens records."""

    weight = 1

    @task(6)
    def search(self) -> None:
        self.opac_search()

    @task(2)
    def search_next_page(self) -> None:
        self.opac_search(next_page=True)

    @task(4)
    def record(self) -> None:
        record_id = self.rng.randint(1, PLAN["max_record_id"])
        self.get(f"/opac/records/{record_id}", "OPAC record")


class Staff(_User):
    """Rotation staff: batch pages and list, staff search, record pages; signs in again now and then."""

    fixed_count = int(os.environ.get("LOAD_STAFF", "10"))

    def on_start(self) -> None:
        super().on_start()
        self.username = PLAN["staff"][next(_staff_accounts) % len(PLAN["staff"])]
        self.login(self.username)

    @task(6)
    def batch_page(self) -> None:
        code = self.rng.choice(PLAN["batches"])
        self.get(f"/rotation/batches/{code}", "batch page")

    @task(1)
    def batch_list(self) -> None:
        self.get("/rotation/batches", "batch list")

    @task(2)
    def staff_search(self) -> None:
        params = dict(self.rng.choice(PLAN["queries"]))
        params.pop("sort", None)
        self.get("/catalog/", "staff search", params)

    @task(2)
    def staff_record(self) -> None:
        record_id = self.rng.randint(1, PLAN["max_record_id"])
        self.get(f"/catalog/records/{record_id}", "staff record page")

    @task(1)
    def sign_in_again(self) -> None:
        self.login(self.username)


class PointOperator(_User):
    """A point operator on a phone: the shipments waiting, a receipt page, and confirming a receipt."""

    fixed_count = int(os.environ.get("LOAD_OPERATORS", "10"))

    def on_start(self) -> None:
        super().on_start()
        account = PLAN["operators"][next(_operator_accounts) % len(PLAN["operators"])]
        self.username = account["username"]
        self.shipments = list(account["shipments"])
        self.login(self.username)

    @task(2)
    def receipt_list(self) -> None:
        self.get("/rotation/receive", "receipt list")

    @task(4)
    def receipt_page(self) -> None:
        self.get(f"/rotation/receive/{self.rng.choice(self.shipments)}", "receipt page")

    @task(1)
    def confirm(self) -> None:
        """Open the oldest shipment still waiting and confirm it with the count the form proposes."""
        shipment_id = self.shipments[0]
        page = self.get(f"/rotation/receive/{shipment_id}", "receipt page")
        token, count = CSRF_RE.search(page.text), COUNT_RE.search(page.text)
        if not (token and count):  # already confirmed: the page says so, no form
            self.shipments.append(self.shipments.pop(0))
            return
        data = {"csrf_token": token[1], "received_count": count[1], "received_by_name": "Lò Thị Đào"}
        with self.client.post(
            f"/rotation/receive/{shipment_id}",
            data=data,
            name="receipt confirm",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or not response.headers.get("Location", "").endswith(
                f"/receive/{shipment_id}"
            ):
                response.failure(f"receipt {shipment_id}: HTTP {response.status_code}")
        self.shipments.append(self.shipments.pop(0))
