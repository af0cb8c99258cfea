"""Run the production layout (deploy/layout.py) on loopback: nginx in front, gunicorn for HTTP, uvicorn for
the rush path, daphne for websockets.

Used by the rush benchmark (and handy for trying the production layout locally):
`python -m deploy.stack --http-workers 3 --ws-processes 2` prints the port and stays up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import layout  # noqa: E402
from saas.processes import LOOPBACK, free_port, wait_for_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent


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
    rush_inflight: int | None = None,
    rush_company_inflight: int | None = None,
    logs: Path | None = None,
) -> Stack:
    """Start nginx + HTTP workers + daphne processes (+ rush processes); returns when everything listens.

    `rush_inflight` / `rush_company_inflight`: the proxy's rush budgets (deploy/layout.py::nginx_conf's
    defaults when None). `logs`: the folder of the servers' logs and the proxy's timing log (by default
    .data/bench-logs, shared by every stack of this checkout)."""
    port = port or free_port()
    tmp = Path(tempfile.mkdtemp(prefix="saas-stack-"))
    # nginx started as root serves from unprivileged workers: they must reach the cache and temp folders.
    tmp.chmod(0o755)
    for name in ("cache", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / name).mkdir(mode=0o777)
        (tmp / name).chmod(0o777)
    logs = logs or ROOT / ".data" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack(port=port, tmp=tmp)
    env = dict(env, PUBLIC_PORT=str(port), PYTHONPATH=str(ROOT))
    # nginx on this machine sets X-Request-Start for every request: the backends believe it from there only.
    env.setdefault("TRUSTED_PROXIES", "127.0.0.1")

    def run(command: list[str], log: str) -> None:
        stack.processes.append(
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(logs / log).open("ab")
            )
        )

    http_ports: list[int] = []
    ws_ports: list[int] = []
    if http_server == "gunicorn":
        http_ports.append(free_port())
        run(
            layout.gunicorn_command(
                host=LOOPBACK, port=http_ports[0], workers=http_workers, bin_dir=VENV_BIN
            ),
            "gunicorn.log",
        )
    for _ in range(ws_processes):
        ws_ports.append(free_port())
        run(
            layout.daphne_command(host=LOOPBACK, port=ws_ports[-1], bin_dir=VENV_BIN),
            f"daphne-{ws_ports[-1]}.log",
        )
    if http_server == "daphne":
        http_ports = list(ws_ports)
    rush_ports = list(http_ports)
    if rush_workers:
        rush_ports = []
        for _ in range(rush_workers):
            rush_ports.append(free_port())
            run(
                layout.uvicorn_rush_command(
                    host=LOOPBACK,
                    port=rush_ports[-1],
                    bin_dir=VENV_BIN,
                    loop=os.environ.get("RUSH_LOOP", "asyncio"),
                    http=os.environ.get("RUSH_HTTP", layout.RUSH_HTTP),
                ),
                "uvicorn.log",
            )
    conf = layout.nginx_conf(
        listen=f"{LOOPBACK}:{port}",
        http_ports=http_ports,
        rush_ports=rush_ports,
        ws_ports=ws_ports,
        tmp=tmp,
        logs=logs,
        workers=nginx_workers,
        rush_inflight=rush_inflight,
        rush_company_inflight=rush_company_inflight,
    )
    (tmp / "nginx.conf").write_text(conf)
    from django.conf import settings

    # The line's places are signed with a key of this installation (nginx reads it from its environment).
    nginx_env = dict(os.environ, RUSH_LINE_KEY=layout.rush_line_key(settings.SECRET_KEY))
    stack.processes.append(
        subprocess.Popen(
            [nginx_binary(), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"], cwd=tmp, env=nginx_env
        )
    )
    try:
        for p in [*http_ports, *ws_ports, *rush_ports, port]:
            wait_for_port(p)
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
