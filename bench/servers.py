"""Serve the generated feeds from loopback addresses, with ETag/Last-Modified and 304s.

``nginx`` when it is installed (what real WordPress sites sit behind, and it costs the
benchmark almost no CPU: sendfile), else a Python ``ThreadingHTTPServer`` in a subprocess
(this file run as a script) that answers conditional GETs the way nginx does.

The feeds are spread over several addresses of 127.0.0.0/8 (all loopback on Linux), one
port, so that a client's per-host limit sees many sites, as it would in real life.
Every request is logged as ``status bytes`` so the benchmark can check what each run asked
for (200s vs 304s).
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def addresses(count: int) -> list[str]:
    """``count`` loopback addresses: 127.0.0.2, 127.0.0.3, …"""
    if not 1 <= count <= 250:
        raise ValueError("between 1 and 250 hosts")
    return [f"127.0.0.{2 + i}" for i in range(count)]


def free_port(hosts: Sequence[str]) -> int:
    """A port free on every one of ``hosts`` (tried, not guessed)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        ok = True
        for host in hosts[1:]:
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no port free on all the loopback addresses")


@dataclass
class Server:
    kind: str  # "nginx" or "python"
    hosts: list[str]
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    root: Path
    work: Path

    def url(self, index: int, path: str) -> str:
        return f"http://{self.hosts[index % len(self.hosts)]}:{self.port}{path}"

    def log_offset(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def statuses_since(self, offset: int) -> dict[str, int]:
        """Requests logged since ``offset``: counts by status, plus bytes sent."""
        counts: dict[str, int] = {}
        sent = 0
        with contextlib.suppress(FileNotFoundError), self.log.open("rb") as fh:
            fh.seek(offset)
            for raw in fh:
                parts = raw.split()
                if len(parts) >= 2:
                    key = parts[0].decode()
                    counts[key] = counts.get(key, 0) + 1
                    with contextlib.suppress(ValueError):
                        sent += int(parts[1])
        counts["bytes"] = sent
        return counts

    def set_validators(self, on: bool, probe: str) -> None:
        """Answer conditional GETs (ETag, 304) or not (every GET a 200), checked on ``probe``."""
        if self.kind == "nginx":
            conf = _nginx_conf(self.root, self.work, self.hosts, self.port, validators=on)
            (self.work / "nginx.conf").write_text(conf)
            self.process.send_signal(signal.SIGHUP)  # reload: new workers, same sockets
        else:
            flag = self.work / "no-validators"
            if on:
                flag.unlink(missing_ok=True)
            else:
                flag.touch()
        deadline = time.monotonic() + 10
        while True:  # nginx reloads asynchronously: wait until the answers change
            with urllib.request.urlopen(probe, timeout=5) as response:
                response.read()
                if ("ETag" in response.headers) == on:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the feed server did not switch its validators")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            # nginx: SIGQUIT is a graceful stop, SIGTERM a fast one; both end the workers
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_listening(hosts: Sequence[str], port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    pending = list(hosts)
    while pending:
        if process.poll() is not None:
            raise RuntimeError(f"the feed server exited at start-up (status {process.returncode})")
        try:
            with socket.create_connection((pending[0], port), timeout=0.5):
                pending.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no feed server on {pending[0]}:{port}") from None
            time.sleep(0.05)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def _nginx_conf(root: Path, work: Path, hosts: Sequence[str], port: int, validators: bool) -> str:
    listens = "\n".join(f"        listen {h}:{port} backlog=4096;" for h in hosts)
    types = "\n".join(f"        {mime} {ext[1:]};" for ext, mime in TYPES.items())
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {work / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # validators off: no ETag, and If-Modified-Since ignored, so every GET is a 200 with the
    # same bytes (what many feed servers do; the client's body hash is then all it has)
    conditional = "etag on;" if validators else "etag off;\n        if_modified_since off;"
    return f"""# written by bench/servers.py for one benchmark run
{user}
worker_processes 1;
daemon off;
master_process on;
pid {work / "nginx.pid"};
error_log {work / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    types {{
{types}
    }}
    default_type application/octet-stream;
    log_format bench '$status $body_bytes_sent';
    access_log {work / "access.log"} bench buffer=64k flush=100ms;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    server_tokens off;
{temp}
    server {{
{listens}
        root {root};
        index index.rss index.atom;
        charset utf-8;
        charset_types application/rss+xml application/atom+xml;
        {conditional}
    }}
}}
"""


def start_nginx(root: Path, work: Path, hosts: Sequence[str], port: int) -> Server:
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx")
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(_nginx_conf(root, work, hosts, port, validators=True))
    process = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(conf), "-e", str(work / "error.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(work / "nginx.stderr").open("wb"),
        start_new_session=True,  # Ctrl-C in the terminal reaches the benchmark, which stops it
    )
    try:
        _wait_listening(hosts, port, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return Server("nginx", list(hosts), port, work / "access.log", process, root, work)


def start_python(root: Path, work: Path, hosts: Sequence[str], port: int) -> Server:
    work.mkdir(parents=True, exist_ok=True)
    log = work / "access.log"
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--root",
            str(root),
            "--log",
            str(log),
            "--port",
            str(port),
            *hosts,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(work / "server.stderr").open("wb"),
        start_new_session=True,
    )
    try:
        _wait_listening(hosts, port, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return Server("python", list(hosts), port, log, process, root, work)


# --------------------------------------------------------------------------- python server


class _Handler(BaseHTTPRequestHandler):
    root: Path
    log_file: TextIO
    lock: threading.Lock
    no_validators: Path
    protocol_version = "HTTP/1.1"
    server_version = "bench"
    sys_version = ""

    def _file(self) -> Path | None:
        path = self.path.split("?", 1)[0]
        if ".." in path:
            return None
        base = self.root / path.lstrip("/")
        if path.endswith("/"):
            for name in ("index.rss", "index.atom"):
                if (base / name).is_file():
                    return base / name
            return None
        return base if base.is_file() else None

    def do_GET(self) -> None:
        target = self._file()
        if target is None:
            self._send(404, b"not found\n", {"Content-Type": "text/plain"})
            return
        st = target.stat()
        etag = f'"{int(st.st_mtime):x}-{st.st_size:x}"'  # nginx's form
        modified = email.utils.formatdate(int(st.st_mtime), usegmt=True)
        headers = {"Last-Modified": modified}
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if self.no_validators.exists():
            inm = ims = None
        else:
            headers["ETag"] = etag
        if (inm is not None and etag in [t.strip() for t in inm.split(",")]) or (
            inm is None and ims == modified
        ):
            self._send(304, b"", headers)
            return
        headers["Content-Type"] = TYPES.get(target.suffix, "application/xml") + "; charset=utf-8"
        self._send(200, target.read_bytes(), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        with self.lock:
            self.log_file.write(f"{status} {len(body) if status != 304 else 0}\n")
            self.log_file.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def _serve(root: Path, log: Path, port: int, hosts: Sequence[str]) -> None:
    handler = type(
        "Handler",
        (_Handler,),
        {
            "root": root,
            "log_file": log.open("a"),
            "lock": threading.Lock(),
            "no_validators": log.parent / "no-validators",
        },
    )
    servers = [_Server((h, port), handler) for h in hosts]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    servers[0].serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve feeds with ETag/Last-Modified")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("hosts", nargs="+")
    ns = parser.parse_args()
    _serve(ns.root, ns.log, ns.port, ns.hosts)
