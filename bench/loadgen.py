"""The load generator: a small HTTP/1.1 client on asyncio streams (keep-alive when the server
allows it) and a runner that keeps N connections busy for a fixed time and reports requests
per second and latency percentiles. Every scenario is an object with ``async step(conn)``; a
scenario that needs state per connection (a refresh-token chain, a cookie jar) keeps it there.

Written for loopback benchmarks against servers we start ourselves: it understands what
gunicorn and Node send (Content-Length, chunked, Connection: close) and nothing more."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    set_cookies: list[str] = field(default_factory=list)

    def json(self):
        import json

        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One client connection to ``host:port``; reconnects when the server closed it."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.host_header = f"{host}:{port}".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.state: dict = {}

    async def _connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> Response:
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self.host_header]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}".encode())
        if body or method == "POST":
            lines.append(b"Content-Length: " + str(len(body)).encode())
        data = b"\r\n".join(lines) + b"\r\n\r\n" + body
        for attempt in (0, 1):
            if self.writer is None:
                await self._connect()
            try:
                self.writer.write(data)
                return await self._read_response()
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection: retry once on a new one.
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _read_response(self) -> Response:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        cookies = []
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "set-cookie":
                cookies.append(value)
            headers[name] = value
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(chunks)
        elif status in (204, 304) or status < 200:
            body = b""
        else:
            body = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body, cookies)


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    first_error: str | None = None
    all_operations: int = 0
    #: CPU seconds the load generator itself spent per operation (it shares the cores).
    client_cpu_per_operation: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def p50_ms(self) -> float:
        return self.percentile(50) * 1000

    @property
    def p99_ms(self) -> float:
        return self.percentile(99) * 1000

    def summary(self) -> str:
        return (f"{self.name}: {self.rate:,.0f}/s p50 {self.p50_ms:.1f} ms p99 {self.p99_ms:.1f} ms "
                f"({self.requests} ok, {self.errors} errors; load generator "
                f"{self.client_cpu_per_operation * 1e3:.2f} ms CPU per operation)")


async def run_load(name: str, host: str, port: int, scenario, *, connections: int, seconds: float,
                   warmup: float, max_operations: int | None = None,
                   spread: Callable[[], dict[int, int] | None] | None = None, workers: int = 1) -> Result:
    """Keep ``connections`` connections busy with ``scenario.step`` for ``warmup`` + ``seconds``
    (or until ``max_operations`` operations after the warm-up, if that comes first); count what
    finished after the warm-up. ``step`` returns True for a success.

    ``spread()``: which of the server's processes holds each connection (by client port); with
    it the connections are spread evenly over the ``workers`` processes (``open_evenly``)."""
    conns = [Connection(host, port) for _ in range(connections)]
    for index, conn in enumerate(conns):
        await scenario.setup(conn, index)
    if spread is not None and not await open_evenly(conns, spread, workers):
        print(f"{name}: connections not spread evenly over the workers", flush=True)
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0, "all": 0}
    first_error: list[str] = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    measuring_started = [None]

    async def worker(conn: Connection):
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            if max_operations is not None and counts["ok"] + counts["errors"] >= max_operations:
                return
            began = time.perf_counter()
            try:
                ok = await scenario.step(conn)
            except Exception as error:  # noqa: BLE001 - counted and reported as an error
                ok = False
                if not first_error:
                    first_error.append(f"{type(error).__name__}: {error}")
                conn.close()
                await asyncio.sleep(0.01)
            ended = time.perf_counter()
            counts["all"] += 1
            if began < measure_from:
                continue
            if measuring_started[0] is None:
                measuring_started[0] = began
            if ok:
                counts["ok"] += 1
                latencies.append(ended - began)
            else:
                counts["errors"] += 1
                if not first_error and getattr(scenario, "last_error", None):
                    first_error.append(scenario.last_error)

    await asyncio.gather(*(worker(conn) for conn in conns))
    ended = time.perf_counter()
    client_cpu = time.process_time() - cpu_start
    for conn in conns:
        conn.close()
    began = measuring_started[0] or measure_from
    return Result(name, counts["ok"], counts["errors"], max(ended - began, 1e-9), latencies,
                  first_error[0] if first_error else None, counts["all"], client_cpu / max(counts["all"], 1))


async def open_evenly(conns: list[Connection], spread, workers: int, *, attempts: int = 40) -> bool:
    """Open ``conns`` so that each of the server's ``workers`` processes accepted as many of them
    (to one): each connection is opened, and opened again while the process that accepted it
    already holds its share. ``spread()`` maps each established connection's client port to the
    process holding it.

    The server's workers (granian's or gunicorn's) race to accept from one shared socket, so 16 connections opened at once
    can land 15 on one worker and 1 on the other. The run then measures one core, not two, and a
    phase's rate halves by chance (the bimodal repeats of issue 17's runs). A load balancer in
    front of real workers, or thousands of short-lived clients, spread the load; a benchmark of
    a few long-lived connections must do it itself. Returns False (connections left as they
    fell) when ``spread`` cannot tell (no ``ss``) or a worker never takes its share."""
    share = -(-len(conns) // workers)
    held: dict[int, int] = {}
    for conn in conns:
        conn.close()
    for conn in conns:
        for _ in range(attempts):
            await conn._connect()
            port = conn.writer.get_extra_info("sockname")[1]
            owner = None
            deadline = time.perf_counter() + 2
            while owner is None and time.perf_counter() < deadline:
                owners = spread()
                if owners is None:
                    return False
                owner = owners.get(port)
                if owner is None:
                    await asyncio.sleep(0.005)
            if owner is not None and held.get(owner, 0) < share and (owner in held or len(held) < workers):
                held[owner] = held.get(owner, 0) + 1
                break
            conn.close()
            await asyncio.sleep(0.01)
        else:
            return False
    return True


class Scenario:
    """One request shape, repeated. Subclasses fill ``step``."""

    last_error: str | None = None

    async def setup(self, conn: Connection, index: int) -> None:
        pass

    async def step(self, conn: Connection) -> bool:
        raise NotImplementedError

    def fail(self, message: str) -> bool:
        self.last_error = message
        return False


class Get(Scenario):
    def __init__(self, path: str, headers: dict[str, str] | None = None):
        self.path = path
        self.headers = headers or {}

    async def step(self, conn):
        response = await conn.request("GET", self.path, headers=self.headers)
        return response.status == 200 or self.fail(f"{response.status} {response.text[:200]}")


def basic_auth(client_id: str, secret: str) -> str:
    import base64
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


FORM = "application/x-www-form-urlencoded"


class ClientCredentials(Scenario):
    def __init__(self, path: str, client_id: str, secret: str, extra: dict[str, str] | None = None):
        from urllib.parse import urlencode

        self.path = path
        self.headers = {"Authorization": basic_auth(client_id, secret), "Content-Type": FORM}
        self.body = urlencode({"grant_type": "client_credentials", **(extra or {})}).encode()

    async def step(self, conn):
        response = await conn.request("POST", self.path, headers=self.headers, body=self.body)
        if response.status != 200 or b"access_token" not in response.body:
            return self.fail(f"{response.status} {response.text[:200]}")
        return True


class RefreshChains(Scenario):
    """Each connection follows its own chain: it presents its refresh token and keeps the new
    one the server rotated in its place."""

    def __init__(self, path: str, client_id: str, secret: str, refresh_tokens: list[str]):
        self.path = path
        self.headers = {"Authorization": basic_auth(client_id, secret), "Content-Type": FORM}
        #: The newest token of each chain: a repeated run goes on where the last one stopped.
        self.refresh_tokens = list(refresh_tokens)

    async def setup(self, conn, index):
        conn.state["chain"] = index
        conn.state["refresh_token"] = self.refresh_tokens[index]

    async def step(self, conn):
        from urllib.parse import urlencode

        body = urlencode({"grant_type": "refresh_token", "refresh_token": conn.state["refresh_token"]}).encode()
        response = await conn.request("POST", self.path, headers=self.headers, body=body)
        if response.status != 200:
            return self.fail(f"{response.status} {response.text[:200]}")
        token = response.json()
        if token.get("refresh_token") in (None, conn.state["refresh_token"]):
            return self.fail("the refresh token was not rotated")
        conn.state["refresh_token"] = self.refresh_tokens[conn.state["chain"]] = token["refresh_token"]
        return True


class Introspect(Scenario):
    """RFC 7662 introspection of one access token by its client."""

    def __init__(self, path: str, client_id: str, secret: str, token: str):
        from urllib.parse import urlencode

        self.path = path
        self.headers = {"Authorization": basic_auth(client_id, secret), "Content-Type": FORM}
        self.body = urlencode({"token": token, "token_type_hint": "access_token"}).encode()

    async def step(self, conn):
        response = await conn.request("POST", self.path, headers=self.headers, body=self.body)
        if response.status != 200 or b'"active":true' not in response.body.replace(b" ", b""):
            return self.fail(f"{response.status} {response.text[:200]}")
        return True

