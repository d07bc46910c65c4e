"""Headless Chromium driven over the DevTools protocol on pipes: no Python dependency, no open port.

Chromium started with ``--remote-debugging-pipe`` reads protocol messages (JSON, each ending in a NUL
byte) on its file descriptor 3 and writes on 4. ``Browser.open(url)`` records every network request,
console message, log entry and uncaught exception of the page while it loads.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    """The Chromium to run (``POLICYTRACKER_CHROMIUM``, else the first of `NAMES` on the path), or None."""
    given = os.environ.get("POLICYTRACKER_CHROMIUM")
    if given:
        return given if shutil.which(given) else None
    return next((found for found in map(shutil.which, NAMES) if found), None)


class Browser:
    """One headless Chromium with one page; use it as a context manager."""

    def __init__(self, executable, profile, *, timeout=60.0):
        self.timeout = timeout
        self.events = []
        self._buffer = b""
        self._next_id = 0
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()

        def onto_3_and_4():  # in the child: its ends of the pipes become descriptors 3 and 4
            reading = fcntl.fcntl(to_browser, fcntl.F_DUPFD, 10)
            writing = fcntl.fcntl(from_browser, fcntl.F_DUPFD, 10)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        Path(profile).mkdir(parents=True, exist_ok=True)
        self._log = open(Path(profile) / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [
                executable,
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            close_fds=False,
            preexec_fn=onto_3_and_4,
        )
        os.close(to_browser)
        os.close(from_browser)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=self.session)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        try:
            if self.process.poll() is None:
                self.call("Browser.close")
                self.process.wait(10)
        except (OSError, TimeoutError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(10)
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            self._log.close()

    # -- the protocol -----

    def call(self, method, *, session=None, **params):
        """Send one command and return its result (raises RuntimeError on a protocol error)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._receive(lambda m, wanted=self._next_id: m.get("id") == wanted)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def _receive(self, wanted):
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buffer:
                raw, _, self._buffer = self._buffer.partition(b"\0")
                message = json.loads(raw)
                if "id" not in message:
                    self.events.append(message)
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise EOFError("Chromium closed its pipe")
                self._buffer += chunk

    # -- the page -----

    def open(self, url):
        """Load *url* in the page and wait until its load event."""
        self.call("Page.navigate", session=self.session, url=url)
        self._receive(lambda m: m.get("method") == "Page.loadEventFired")

    def evaluate(self, expression):
        """The value of a JavaScript *expression* in the page (JSON-serialisable values only)."""
        result = self.call(
            "Runtime.evaluate", session=self.session, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path):
        """Save a PNG of the whole page at *path*."""
        width, height = self.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=self.session,
            width=max(width, 1200),
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        data = self.call("Page.captureScreenshot", session=self.session, format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def requests(self):
        """The URL of every request the page made."""
        return [
            e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"
        ]

    def problems(self):
        """Every console error or warning, log entry of level warning or error, and uncaught exception."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"])
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
                found.append(params)
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"])
        return found
