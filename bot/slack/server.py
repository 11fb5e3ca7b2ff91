"""Serving the bot: HTTP on a threaded production WSGI server (waitress), or Socket Mode.

HTTP mode answers `POST /slack/events` through Bolt and `GET /healthz` for load balancers (the
database's and the gateway's state, never an error's text). Prometheus's `/metrics` has its own
listener (`SYNCBOT_METRICS_PORT`, on loopback by default), never the port Slack reaches.
Slack's signature is checked here before Bolt sees the request (Bolt checks it again): Bolt
parses the body before its own check, and answers 500 for a body it cannot parse or a timestamp
that is not a number. Bodies over 1 MB are refused unread, and a signed request already served
is refused as a replay. Socket Mode envelopes get the same shape checks before Bolt.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError

from bot.slack.shapes import ENVELOPE_KINDS, malformed, malformed_envelope
from sync_engine.contract import format_time

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.app import SlackBot
    from bot.slack.settings import SlackSettings
    from sync_engine import SeenRequests
    from sync_engine.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's own requests are a few kB; the largest (a click on a long list) well under 100 kB.
MAX_BODY_BYTES = 1024 * 1024
# Enough threads that slow clients never hold up Slack's requests; listeners themselves run on
# Bolt's pool and acknowledge as soon as they call ack().
HTTP_THREADS = 16
JSON = "application/json"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def wsgi_app(bot: SlackBot) -> WsgiApp:
    """The WSGI application: Slack's requests to Bolt, health, 404 for the rest."""
    slack = SlackEvents(bot.app, bot.settings.signing_secret, bot.engine.seen_requests())

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Route one request."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            status, body = health(bot)
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        if path == EVENTS_PATH and method == "POST":
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found"]

    return application


class BodyTooLarge(Exception):
    """A request body over MAX_BODY_BYTES."""


class SlackEvents:
    """POST /slack/events: 413 for a body over 1 MB, 401 unless Slack signed it within 5
    minutes, 409 for a signed request already served, 400 for a body that is not shaped as
    Slack sends it, else Bolt's answer. Never a 500 for what a client sent."""

    def __init__(self, app: App, signing_secret: str, seen: SeenRequests) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)
        self.seen = seen

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Bound the body, check the signature, then that it is new, then hand it to Bolt."""
        headers = {
            key[5:].lower().replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE") or ""
        try:
            raw = read_body(environ)
        except BodyTooLarge:
            answer = _refused(413, "request body too large")
        except ValueError:
            answer = _refused(401, "invalid request")
        else:
            if not self._signed(raw, headers):
                answer = _refused(401, "invalid request")
            else:
                answer = self._once(raw, headers, environ.get("QUERY_STRING") or "")
        start_response(answer.status, answer.get_headers())
        return answer.get_body()

    def _once(self, raw: bytes, headers: dict[str, str], query: str) -> WsgiHttpResponse:
        # Only a verified signature is noted: anyone could fill the table with forged ones.
        try:
            first = self.seen.first_sighting(
                headers["x-slack-signature"], int(headers["x-slack-request-timestamp"])
            )
        except SQLAlchemyError as exc:
            # Fail closed: unless it is known to be new, a request is not served (Slack resends).
            log.warning("a Slack request could not be checked for replay: %s", type(exc).__name__)
            return _refused(503, "try again later")
        if not first:
            log.warning("a replayed Slack request was refused (409): its signature was seen")
            return _refused(409, "replayed request")
        return self._dispatch(raw, headers, query)

    def _signed(self, raw: bytes, headers: dict[str, str]) -> bool:
        try:
            return self.verifier.is_valid(
                raw, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
            )
        except (ValueError, TypeError):
            # A timestamp that is not a number, or a signature that is not ASCII.
            return False

    def _dispatch(self, raw: bytes, headers: dict[str, str], query: str) -> WsgiHttpResponse:
        try:
            request = BoltRequest(body=raw.decode(), query=query, headers={**headers})
            problem = malformed(request.body)
        except (ValueError, TypeError, AttributeError, LookupError, RecursionError) as exc:
            # Bad UTF-8 or JSON, JSON nested too deep, or JSON that is not an object.
            problem = f"unreadable body ({type(exc).__name__})"
        if problem is not None:
            return _bad_request(problem)
        response = self.app.dispatch(request)
        return WsgiHttpResponse(response.status, response.headers, response.body)


def _bad_request(problem: str) -> WsgiHttpResponse:
    log.warning("a signed Slack request was refused (400): %s", problem)
    return _refused(400, "bad request")


def _refused(status: int, error: str) -> WsgiHttpResponse:
    return WsgiHttpResponse(status, {"content-type": [JSON]}, json.dumps({"error": error}))


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, never reading more than MAX_BODY_BYTES + 1 bytes of it.

    BodyTooLarge past the cap (by Content-Length, unread); ValueError for a bad Content-Length.
    """
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ["wsgi.input"]
    if declared:
        length = int(declared)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            raise BodyTooLarge
        return bytes(stream.read(length))
    if not environ.get("wsgi.input_terminated"):
        return b""  # PEP 3333: without a length, only a terminated stream may be read
    raw = bytes(stream.read(MAX_BODY_BYTES + 1))
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge
    return raw


def health(bot: SlackBot) -> tuple[str, dict[str, Any]]:
    """The database's and the gateway's state; 503 only when the database cannot be read.

    A gateway outage is every replica's, so it is reported but does not fail the check (a load
    balancer taking replicas out would not bring the ledger back). Only states and times: the
    port is Slack's, open to anyone, and an error's text (the gateway's words, a driver's
    exception) says more about the inside than a load balancer needs.
    """
    try:
        outage = bot.engine.outage()
        view = bot.engine.ledger_view()
    except Exception as exc:
        log.warning("health check: the database cannot be read: %s", type(exc).__name__)
        return "503 Service Unavailable", {"ok": False, "database": "unreachable"}
    gateway: dict[str, Any] = {"state": "up"}
    if outage is not None:
        gateway = {
            "state": "down",
            "since": format_time(outage.since),
            "next_probe_at": format_time(outage.next_probe_at) if outage.next_probe_at else None,
        }
    # The company's id, not its name: this port is open to anyone.
    ledger = {
        "name": view.name,
        "company_id": view.company_id,
        "connection": view.connection,
        "reconnect_required": view.reconnect_required,
    }
    return "200 OK", {"ok": True, "database": "ok", "gateway": gateway, "ledger": ledger}


class WaitressServer:
    """A WSGI app served by waitress on one port; `start` runs it in a thread, `stop` ends it."""

    def __init__(
        self, app: WsgiApp, host: str, port: int, *, threads: int, name: str, **options: Any
    ) -> None:
        from waitress import create_server

        self._map: dict[int, Any] = {}
        self._server = create_server(
            app, map=self._map, host=host, port=port, threads=threads, **options
        )
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on (the one the OS chose, if 0 was asked for)."""
        return int(self._server.effective_port)

    def serve_forever(self) -> None:
        """Serve in this thread until stopped (Ctrl-C in `syncbot serve`)."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()

    def start(self) -> None:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name=self._name)
        self._thread.start()

    def stop(self) -> None:
        """Close every socket from inside the server's own loop, then wait for it to end."""
        # waitress's loop runs until its socket map is empty; closing from another thread
        # would race it, so the trigger hands the closing to the loop's thread.
        try:
            self._server.trigger.pull_trigger(self._close_all)
        except OSError:
            # The trigger's pipe is already closed (seen once in a long test run, cause not
            # found): close from here; the loop notices its empty map within its 1 s timeout.
            log.warning("waitress's trigger was closed; closing its sockets from this thread")
            self._close_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _close_all(self) -> None:
        for dispatcher in list(self._map.values()):
            dispatcher.close()


class HttpServer(WaitressServer):
    """The bot's HTTP front (Slack's requests and the health check) on one port."""

    def __init__(self, bot: SlackBot, host: str, port: int) -> None:
        # waitress refuses (413) a body of max_request_body_size bytes or more as soon as its
        # Content-Length (or, chunked, its running size) says so, before buffering the rest.
        super().__init__(
            wsgi_app(bot),
            host,
            port,
            threads=HTTP_THREADS,
            name="syncbot-http",
            max_request_body_size=MAX_BODY_BYTES + 1,
        )


def metrics_server(bot: SlackBot, host: str, port: int) -> WaitressServer:
    """Prometheus's exposition of the engine's registry, on its own listener."""
    from prometheus_client import make_wsgi_app

    app = make_wsgi_app(bot.engine.metrics_registry())
    return WaitressServer(
        app, host, port, threads=2, name="syncbot-metrics", max_request_body_size=1024
    )


def start_metrics(bot: SlackBot, slack: SlackSettings) -> WaitressServer | None:
    """Serve /metrics on SYNCBOT_METRICS_HOST:SYNCBOT_METRICS_PORT, if a port is set."""
    if slack.metrics_port is None:
        return None
    server = metrics_server(bot, slack.metrics_host, slack.metrics_port)
    server.start()
    log.info("metrics on http://%s:%d/metrics", slack.metrics_host, server.port)
    return server


def socket_mode_handler(bot: SlackBot, app_token: str) -> SocketModeHandler:
    """Bolt's Socket Mode handler for the bot, checking each envelope's shape before Bolt.

    It opens its connection through SLACK_API_URL.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    handler = SocketModeHandler(bot.app, app_token)

    def on_message(client: Any, message: dict[str, Any], _raw: str | None) -> None:
        """Hand a well-formed envelope to Bolt; acknowledge and drop any other."""
        if "envelope_id" not in message and message.get("type") not in ENVELOPE_KINDS:
            return  # the connection's own messages (hello): not for the app
        problem = malformed_envelope(message)
        if problem is None:
            request = SocketModeRequest.from_dict(message)
            if request is not None:
                handler.handle(client, request)
            return
        log.warning("a Socket Mode envelope was dropped: %s", problem)
        envelope_id = message.get("envelope_id")
        if isinstance(envelope_id, str) and envelope_id:
            # Acknowledged, or Slack would send it again (and again) to be refused again.
            client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))

    # The client builds a request from each envelope before its request listeners run, and
    # that fails (logged as an exception, never acknowledged) for a payload that is neither an
    # object nor a string; Bolt then trusts the payload's field types, and answers a wrong one
    # with "something went wrong" to whoever the payload names. So the raw envelope is checked.
    handler.client.socket_mode_request_listeners.clear()
    handler.client.message_listeners.append(on_message)
    return handler


def run_socket_mode(bot: SlackBot, app_token: str) -> None:
    """Connect to Slack over Socket Mode and serve until interrupted."""
    handler = socket_mode_handler(bot, app_token)
    try:
        handler.start()
    finally:
        handler.close()


def run_http(bot: SlackBot, host: str, port: int) -> None:
    """Serve HTTP until interrupted."""
    server = HttpServer(bot, host, port)
    log.info("syncbot listening on http://%s:%d%s", host, server.port, EVENTS_PATH)
    server.serve_forever()


def ledger_secrets(settings: Settings) -> list[str]:
    """The secrets of the ledger's settings a log line must never show: the key that seals
    the stored tokens (each key of a rotation list too) and the QuickBooks app's secret."""
    found: list[str] = []
    for secret in (settings.secret_key, settings.qbo_client_secret):
        if secret is not None:
            value = secret.get_secret_value()
            found += [value, *(part.strip() for part in value.split(","))]
    return found


def serve_bot(settings: Settings, slack: SlackSettings) -> None:
    """`syncbot serve`: the engine and the bot in this process until Ctrl-C or SIGINT."""
    from bot import logs
    from bot.scheduler import start_scheduler
    from bot.slack.app import build_bot
    from bot.slack.privacy import warn_if_alert_channel_exposed
    from sync_engine.build import build_engine

    logs.configure(
        [
            slack.bot_token,
            slack.signing_secret,
            slack.app_token,
            settings.gateway_token,
            *ledger_secrets(settings),
        ]
    )
    with build_engine(settings) as engine:
        bot = build_bot(slack, engine)
        if bot.alert_poster is None:
            log.warning("SYNCBOT_ALERT_CHANNEL is not set: alerts wait in the outbox, unposted")
        warn_if_alert_channel_exposed(slack.alert_channel, bot.messenger.client)
        metrics = start_metrics(bot, slack)
        scheduler = start_scheduler(
            engine,
            bot.alert_poster,
            sync_interval=settings.scheduler_interval_seconds,
            alert_interval=slack.alert_interval_seconds,
        )
        try:
            if slack.app_token is not None:
                run_socket_mode(bot, slack.app_token)
            else:
                run_http(bot, slack.http_host, slack.http_port)
        except KeyboardInterrupt:
            log.info("stopping")
        finally:
            # The scheduler's running job, then running listeners and retries, finish before
            # the engine closes under them.
            scheduler.shutdown(wait=True)
            if bot.alert_poster is not None:
                bot.alert_poster.stop()
            if metrics is not None:
                metrics.stop()
            bot.close()
