"""Debian's Firefox ESR for the interop tests: headless, a scratch profile, driven by Marionette.

Playwright's Firefox is a patched build it downloads (which does not work
here), so the tests start the real ``firefox-esr`` themselves with
``--marionette`` and talk to it with Mozilla's ``marionette_driver``. That
client blocks, so every call runs in a worker thread (:meth:`Firefox.run`)
and aiortc peers in the test process keep working meanwhile.

A missing or silent Firefox is a failure with the reason and the end of its
log (:class:`FirefoxError`), never a skip: ``scripts/test`` installs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.server import free_port

FIREFOX = os.environ.get("CONFERENCE_FIREFOX", "/usr/bin/firefox-esr")

# The profile's user.js: fake camera and microphone without a prompt, media
# that plays without a gesture, and nothing that phones home or updates.
PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "app.update.disabledForTesting": True,
    "app.update.auto": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "browser.ping-centre.telemetry": False,
    "app.normandy.enabled": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.newtabpage.enabled": False,
    # The test server listens on 127.0.0.1 only: without this Firefox leaves
    # loopback addresses out of ICE and never reaches it.
    "media.peerconnection.ice.loopback": True,
    # The page's console (errors, warnings) goes to Firefox's output, kept in its log.
    "devtools.console.stdout.content": True,
}

START_TIMEOUT = 60.0


class FirefoxError(RuntimeError):
    """Firefox could not be started or driven; the message says why and shows its log."""


def user_js(prefs: dict[str, Any]) -> str:
    """``prefs`` as the lines of a profile's ``user.js``."""
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


def firefox_version() -> str:
    """What ``firefox-esr --version`` prints (``Mozilla Firefox 153.8.0esr``)."""
    result = subprocess.run(
        [FIREFOX, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout.strip()


class Firefox:
    """One headless Firefox process with its own profile, and a Marionette session on it."""

    def __init__(self, prefs: dict[str, Any] | None = None) -> None:
        if not shutil.which(FIREFOX):
            raise FirefoxError(
                f"{FIREFOX} is missing: install Debian's firefox-esr (scripts/test does)"
            )
        self.profile = Path(tempfile.mkdtemp(prefix="conference-firefox-"))
        self.port = free_port()
        (self.profile / "user.js").write_text(
            user_js({**PREFS, **(prefs or {}), "marionette.port": self.port})
        )
        self.log_path = self.profile / "firefox.log"
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                FIREFOX,
                "--headless",
                "--marionette",
                "--no-remote",
                "--profile",
                str(self.profile),
                "about:blank",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1", "MOZ_HEADLESS": "1"},
            start_new_session=True,  # its content processes go with it on stop()
        )
        try:
            self.client = self._connect()
        except BaseException:
            self.stop()
            raise

    def _connect(self) -> Any:
        from marionette_driver.marionette import Marionette

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise FirefoxError(
                    f"Firefox exited at start (code {self.process.returncode}):\n{self.log()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise FirefoxError(
                f"Firefox did not open Marionette on port {self.port} within "
                f"{START_TIMEOUT:.0f} s:\n{self.log()}"
            )
        client = Marionette(host="127.0.0.1", port=self.port, startup_timeout=START_TIMEOUT)
        try:
            client.start_session()
        except Exception as exc:
            raise FirefoxError(f"Marionette session did not start ({exc}):\n{self.log()}") from exc
        # Generous: a page's script may wait on the network and the codecs.
        client.timeout.script = 60
        client.timeout.page_load = 60
        return client

    def log(self, tail: int = 4000) -> str:
        """The end of Firefox's own output (for failure messages)."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-tail:]

    def stop(self) -> None:
        """End the session and the browser, then remove the profile."""
        client = getattr(self, "client", None)
        if client is not None:
            try:
                client.delete_session()
            except Exception:
                pass  # the browser may already be gone; the process is ended below anyway
        if self.process.poll() is None:
            # SIGTERM asks Firefox to quit cleanly (profile written, children ended).
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` in a worker thread: Marionette blocks, the test's loop must not."""
        return await asyncio.to_thread(call, *args)

    async def goto(self, url: str) -> None:
        """Load ``url`` in the current tab and wait for it."""
        await self.run(self.client.navigate, url)

    async def evaluate(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body) in the page; a returned promise is awaited."""
        return await self.run(self._execute, script, list(args))

    def _execute(self, script: str, args: list[Any]) -> Any:
        # sandbox=None: in the page's own global (window.conference, no Xray wrappers).
        return self.client.execute_script(script, args, new_sandbox=False, sandbox=None)

    async def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll the JS ``expression`` in the page until it is truthy; return its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(f"return ({expression});")
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not true within {timeout} s in Firefox: {expression}")
            await asyncio.sleep(0.25)

    def page_errors(self, origin: str) -> list[str]:
        """Uncaught errors and ``console.error`` lines of pages from ``origin``, from the log.

        ``devtools.console.stdout.content`` copies the page's console to
        Firefox's output; the browser's own chatter (remote settings, DBus)
        comes from other origins and is left out.
        """
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [
            line
            for line in lines
            if (line.startswith("JavaScript error: ") and origin in line)
            or (line.startswith("console.error: ") and "RSLoader" not in line)
        ]
