"""Run the product the way production does, on loopback: nginx in front, gunicorn for HTTP, daphne for websockets.

Used by the rush benchmark (and handy for trying the production layout locally):
`python -m deploy.stack --http-workers 3 --ws-processes 2` prints the port and stays up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

NGINX_CONF = """
worker_processes {nginx_workers};
pid {tmp}/nginx.pid;
error_log {logs}/nginx-error.log warn;
events {{ worker_connections 30000; multi_accept on; }}
worker_rlimit_nofile 19000;
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_timeout 65;
    keepalive_requests 100000;
    proxy_cache_path {tmp}/cache levels=1:2 keys_zone=rush_pages:10m max_size=64m inactive=5m;
    upstream http_app {{ {http_servers} keepalive 64; }}
    # Enough idle connections kept that a burst reuses them instead of opening new ones to the workers
    # (each new one waits in the workers' accept queue while their event loops are busy).
    upstream rush_app {{
        least_conn; {rush_servers} keepalive 2048; keepalive_requests 1000000; keepalive_timeout 70s;
    }}
    upstream ws_app {{ {ws_servers} }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port} backlog=16384 reuseport;
        location /ws/ {{
            proxy_pass http://ws_app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_read_timeout 3600s;
        }}
        # The rush page of a rank: public content at an unguessable address, cached for the seconds the
        # application allows (Cache-Control: public, max-age=10); one request per expiry reaches Django.
        location ~ ^/my/rush/[0-9]+/p/ {{
            proxy_pass http://rush_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_cache rush_pages;
            proxy_cache_key $http_host$request_uri;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 15s;
            proxy_cache_use_stale updating error timeout;
            proxy_ignore_headers Set-Cookie;
        }}
        # The students' rush path: its own lean processes (booking/rush/asgi.py), the same decisions.
        location /my/rush/ {{
            proxy_pass http://rush_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Request-Start "t=${{msec}}";
        }}
        location / {{
            proxy_pass http://http_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Request-Start "t=${{msec}}";
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise SystemExit(
            "nginx is needed: apt-get install nginx (make bench-rush installs it when run as root)"
        )
    return found


@dataclass
class Stack:
    port: int
    processes: list[subprocess.Popen] = field(default_factory=list)
    tmp: Path | None = None

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def stack_start(
    *,
    env: dict[str, str],
    http_workers: int = 3,
    ws_processes: int = 1,
    http_server: str = "gunicorn",
    nginx_workers: int = 1,
    port: int | None = None,
    rush_workers: int = 0,
) -> Stack:
    """Start nginx + HTTP workers + daphne processes; returns when everything listens."""
    port = port or free_port()
    tmp = Path(tempfile.mkdtemp(prefix="saas-stack-"))
    # nginx started as root serves from unprivileged workers: they must reach the cache and temp folders.
    tmp.chmod(0o755)
    for name in ("cache", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / name).mkdir(mode=0o777)
        (tmp / name).chmod(0o777)
    logs = ROOT / ".data" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack(port=port, tmp=tmp)
    env = dict(env, PUBLIC_PORT=str(port), PYTHONPATH=str(ROOT))
    http_ports, ws_ports = [], []
    if http_server == "gunicorn":
        http_port = free_port()
        http_ports.append(http_port)
        stack.processes.append(
            subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"),
                    "saas.wsgi:application",
                    "-w",
                    str(http_workers),
                    "-b",
                    f"127.0.0.1:{http_port}",
                    "--backlog",
                    "8192",
                    "--keep-alive",
                    "75",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(logs / "gunicorn.log").open("ab"),
            )
        )
    for _ in range(ws_processes):
        ws_port = free_port()
        ws_ports.append(ws_port)
        stack.processes.append(
            subprocess.Popen(
                [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(ws_port), "saas.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(logs / f"daphne-{ws_port}.log").open("ab"),
            )
        )
    if http_server == "daphne":
        http_ports = list(ws_ports)
    rush_ports = list(http_ports)
    if rush_workers:
        # One uvicorn process per port (not `--workers`, whose processes share one accept queue): nginx
        # spreads the connections, and a busy process never holds back another's new connections.
        rush_ports = []
        for _ in range(rush_workers):
            rush_port = free_port()
            rush_ports.append(rush_port)
            stack.processes.append(
                subprocess.Popen(
                    [
                        str(VENV_BIN / "uvicorn"),
                        "booking.rush.asgi:application",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(rush_port),
                        # asyncio's own loop: uvloop's accepted new connections so slowly while busy that at
                        # the opening second they waited seconds in the accept queue (measured: 500-1,500
                        # queued, 2-5 s); asyncio accepts a whole backlog per wake-up.
                        "--loop",
                        os.environ.get("RUSH_LOOP", "asyncio"),
                        "--http",
                        "httptools",
                        "--no-access-log",
                        # The rush path reads no client address and sends no Server header.
                        "--no-proxy-headers",
                        "--no-server-header",
                        # Longer than nginx keeps idle upstream connections, so nginx never reuses one just closed.
                        "--timeout-keep-alive",
                        "75",
                        "--backlog",
                        "8192",
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(logs / "uvicorn.log").open("ab"),
                )
            )
    conf = NGINX_CONF.format(
        nginx_workers=nginx_workers,
        tmp=tmp,
        logs=logs,
        port=port,
        http_servers=" ".join(f"server 127.0.0.1:{p};" for p in http_ports),
        # One failed handshake must not take a websocket process out of rotation for ten seconds.
        ws_servers=" ".join(f"server 127.0.0.1:{p} max_fails=0;" for p in ws_ports),
        rush_servers=" ".join(f"server 127.0.0.1:{p} max_fails=0;" for p in rush_ports),
    )
    (tmp / "nginx.conf").write_text(conf)
    stack.processes.append(
        subprocess.Popen([nginx_binary(), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"], cwd=tmp)
    )
    try:
        for p in [*http_ports, *ws_ports, *rush_ports, port]:
            wait_port(p)
    except RuntimeError:
        stack.stop()
        raise
    return stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http-workers", type=int, default=3)
    parser.add_argument("--ws-processes", type=int, default=1)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    stack = stack_start(
        env=dict(os.environ), http_workers=args.http_workers, ws_processes=args.ws_processes, port=args.port
    )
    print(f"serving on http://localhost:{stack.port}/ (pids {stack.pids()}); Ctrl-C stops")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
