"""Browser tests: Debian's Chromium (``/usr/bin/chromium``) driven headless by Playwright's sync
API against a provider on loopback that is set up like ``idp demo``.

Every test module here sets ``pytestmark = pytest.mark.browser`` (``-m "not browser"`` leaves them out). Pages a
person would look at are saved with ``screenshot(page, "name")`` to
``test-artifacts/screenshots/<test>--<name>--desktop.png`` (1280x800) and ``...--phone.png``
(390x844), full page, so a reviewer can open them after a run.

``assert_accessible(page)`` runs axe-core (from npm, installed once per machine into the git-ignored
``test-artifacts/npm/``) with the WCAG 2.1 A and AA rules and fails on any serious or critical
violation. It injects axe with a script tag, so the page's context needs ``bypass_csp=True``
(``new_page(bypass_csp=True)``)."""
from __future__ import annotations

import fcntl
import json
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TIMEOUT_MS = 15_000
AXE_CORE_VERSION = "4.10.3"
AXE_PREFIX = SCREENSHOTS.parent / "npm"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
MAILED_LINK = re.compile(r"https?://[^\s\"<>]+/(?:verify-email|reset-password|check-email|invitation)/[A-Za-z0-9_-]+")


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session; each test gets its own context (cookies)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium):
    """``new_page(**context_options)``: a page in a browser context of its own (its own cookies,
    as another browser would have), closed after the test."""
    contexts = []

    def open_page(**options):
        context = chromium.new_context(**{"viewport": VIEWPORTS["desktop"], "locale": "en-US", **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def _installed_axe_version(script: Path) -> str | None:
    manifest = script.parent / "package.json"
    if not (script.is_file() and manifest.is_file()):
        return None
    return json.loads(manifest.read_text()).get("version")


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """The path of axe-core's ``axe.min.js``, installed from npm on first use (a lock keeps two
    test runs on one machine from installing at once)."""
    script = AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
    if _installed_axe_version(script) == AXE_CORE_VERSION:
        return script
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is missing: the accessibility checks install axe-core@{AXE_CORE_VERSION} with it "
                    "(Debian: apt-get install -y npm)")
    AXE_PREFIX.mkdir(parents=True, exist_ok=True)
    with open(AXE_PREFIX / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_axe_version(script) != AXE_CORE_VERSION:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error",
                 "--prefix", str(AXE_PREFIX), f"axe-core@{AXE_CORE_VERSION}"],
                capture_output=True, text=True, timeout=300)
            if done.returncode != 0 or _installed_axe_version(script) != AXE_CORE_VERSION:
                pytest.fail(f"npm could not install axe-core@{AXE_CORE_VERSION} into {AXE_PREFIX} "
                            f"(exit {done.returncode}):\n{done.stderr.strip()}")
    return script


def describe_axe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " ".join(" > ".join(part) if isinstance(part, list) else part for part in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


@pytest.fixture
def assert_accessible(axe_script):
    """``assert_accessible(page)``: axe-core's WCAG 2.0/2.1 level A and AA rules find no serious or
    critical violation on the page as it is now (errors shown, panels open)."""

    def check(page) -> list[dict]:
        if not page.evaluate("typeof window.axe === 'object'"):
            page.add_script_tag(path=str(axe_script))
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        serious = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert not serious, f"axe-core on {page.url}:\n{describe_axe_violations(serious)}"
        return results["violations"]

    return check


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "login")`` saves the page at desktop and phone widths;
    ``fits_width=True`` also asserts that neither width scrolls sideways."""
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, fits_width: bool = False) -> list[Path]:
        original = page.viewport_size
        paths = []
        for label, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            if fits_width:
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 0, f"{name} is {overflow}px wider than the {label} screen"
            path = SCREENSHOTS / f"{test_name}--{name}--{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size(original)
        return paths

    return take


@dataclass
class DemoServer:
    """A provider on loopback with the demo realm, client and user of ``idp demo``."""

    app: object
    url: str
    instance_path: Path

    @property
    def demo_url(self) -> str:
        return f"{self.url}/demo/"

    def realm_url(self, realm: str = "demo") -> str:
        return f"{self.url}/realms/{realm}"

    def outbox_code(self, to: str | None = None) -> str:
        """The code in the last SMS of the development outbox (sent to ``to``, if given)."""
        from ..helpers import last_sms_code

        return last_sms_code(self.instance_path, to)

    def outbox_recipients(self) -> list[str]:
        from ..helpers import outbox_messages

        return [message["to"] for message in outbox_messages(self.instance_path)]

    def mails(self, to: str | None = None) -> list[dict]:
        """The mail outbox (``mail-outbox.jsonl``: to, subject, text, html, sent_at), oldest first."""
        import json

        path = self.instance_path / "mail-outbox.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
        return [row for row in rows if to is None or row["to"] == to]

    def wait_for_mail(self, to: str, about: str, timeout: float = 5.0) -> dict:
        """The newest mail to ``to`` whose subject contains ``about``, waiting for the background
        sender to write it."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = [mail for mail in self.mails(to) if about in mail["subject"]]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail about {about!r} to {to}; subjects: "
                                     f"{[mail['subject'] for mail in self.mails()]}")
            time.sleep(0.05)

    def mail_link(self, to: str, about: str) -> str:
        """The link in the newest mail ``about`` something, as the user would click it: the same
        URL in the text and the HTML part."""
        import html

        mail = self.wait_for_mail(to, about)
        match = MAILED_LINK.search(mail["text"])
        assert match, f"no link in {mail['text']!r}"
        assert f'href="{html.escape(match.group(0))}"' in mail["html"], "the HTML part links to the same URL"
        return match.group(0)

    def change(self, fn):
        """Run ``fn(realm, user)`` on the demo realm and user in an app context, commit, and
        return what ``fn`` returned."""
        from idp.demo import DEMO_EMAIL, DEMO_REALM
        from idp.extensions import db
        from idp.services.realms import get_realm
        from idp.services.users import find_user_by_email

        with self.app.app_context():
            realm = get_realm(DEMO_REALM)
            result = fn(realm, find_user_by_email(realm, DEMO_EMAIL))
            db.session.commit()
            db.session.remove()
        return result

    def read_user(self, email: str, fn):
        """``fn(user)`` for the demo realm's user ``email``, read in an app context."""
        from idp.demo import DEMO_REALM
        from idp.extensions import db
        from idp.services.realms import get_realm
        from idp.services.users import find_user_by_email

        with self.app.app_context():
            try:
                return fn(find_user_by_email(get_realm(DEMO_REALM), email))
            finally:
                db.session.remove()


@pytest.fixture
def make_demo_server(make_app, instance_path):
    """``idp demo`` in-process: setup_demo() on a live server's public URL. Keyword arguments
    override settings sections, as for ``make_app`` (``mfa={"resend_cooldown": 2}``)."""
    from idp.demo import setup_demo
    from idp.extensions import db

    started = []

    def start(**overrides) -> DemoServer:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        app = make_app(public_url=url, **overrides)
        with app.app_context():
            setup_demo(url)
            db.session.remove()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        started.append((server, thread))
        return DemoServer(app, url, instance_path)

    yield start
    for server, thread in started:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def demo_server(make_demo_server):
    return make_demo_server()


@pytest.fixture
def demo_without_mfa(demo_server):
    """The demo with its user's second factor off, for the password-only foundation flows."""
    from idp.services.mfa_users import admin_set_mfa

    demo_server.change(lambda realm, user: admin_set_mfa(user, False))
    return demo_server
