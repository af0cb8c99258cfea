"""The production process layout: each server's command line, the nginx configuration, the Procfile.

One place says how production runs the product: gunicorn workers for plain HTTP (`saas.wsgi`), one uvicorn
process per core and port for the students' rush path (`booking.rush.asgi`, see docs/rush.md), daphne for
websockets, Celery workers and one beat, one watchdog, nginx in front (deploy/nginx.conf.template).
deploy/Procfile is generated from here (`python -m deploy.layout procfile`; a test keeps it so), and
deploy/stack.py runs this same layout on loopback for the rush benchmark.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from saas.bodylimit import BODY_MAX_BYTES, UPLOAD_PATHS

HERE = Path(__file__).resolve().parent
NGINX_TEMPLATE = HERE / "nginx.conf.template"


def _bin(name: str, bin_dir: Path | None) -> str:
    return str(bin_dir / name) if bin_dir is not None else name


def gunicorn_command(*, host: str, port: int, workers: int, bin_dir: Path | None = None) -> list[str]:
    """Plain HTTP (the workspace, My Page, the API) behind the proxy."""
    return [
        _bin("gunicorn", bin_dir),
        "saas.wsgi:application",
        "-w",
        str(workers),
        "-b",
        f"{host}:{port}",
        "--backlog",
        "8192",
        "--keep-alive",
        "75",
        "--log-level",
        "warning",
        # nginx on this machine sets X-Forwarded-For to the client's address (saas/clientaddress.py).
        "--env",
        "TRUSTED_PROXIES=127.0.0.1",
    ]


# uvicorn's httptools protocol with a response's head and body in one send (booking/rush/http.py).
RUSH_HTTP = "booking.rush.http:RushHttpProtocol"


def uvicorn_rush_command(
    *, host: str, port: int, bin_dir: Path | None = None, loop: str = "asyncio", http: str = RUSH_HTTP
) -> list[str]:
    """One process of the students' rush path; run one per core, each on its own port.

    Not `--workers`, whose processes share one accept queue: nginx spreads the connections, and a busy
    process never holds back another's new connections.
    """
    return [
        _bin("uvicorn", bin_dir),
        "booking.rush.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        # asyncio's own loop: uvloop's accepted new connections so slowly while busy that at the opening
        # second they waited seconds in the accept queue (measured: 500-1,500 queued, 2-5 s); asyncio
        # accepts a whole backlog per wake-up.
        "--loop",
        loop,
        "--http",
        http,
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
    ]


def daphne_command(
    *,
    host: str,
    port: int,
    application: str = "saas.asgi:application",
    bin_dir: Path | None = None,
    python: str | None = None,
) -> list[str]:
    """HTTP and websockets (the websockets only, behind the proxy): daphne with the request-body limit
    applied before bodies are read (saas/serve.py).

    Listening through an endpoint string for its backlog: Twisted's default of 50 overflowed while 10,000
    watchers connected at 700 a second (each overflow costs the client a 1-second SYN retransmit)."""
    interface = host.strip("[]").replace(":", r"\:")
    endpoint = f"tcp:port={port}:interface={interface}:backlog=4096"
    return [python or _bin("python", bin_dir), "-m", "saas.serve", "-e", endpoint, application]


def celery_worker_command(
    *,
    python: str | None = None,
    bin_dir: Path | None = None,
    queues: Sequence[str] = (),
    name: str | None = None,
    pool: str | None = None,
    concurrency: int | None = None,
    without: Sequence[str] = (),
    beat: bool = False,
    loglevel: str = "INFO",
) -> list[str]:
    """A Celery worker (`beat`: with the one beat of a single-machine set-up)."""
    command = [python, "-m", "celery"] if python else [_bin("celery", bin_dir)]
    command += ["-A", "saas", "worker"]
    if pool:
        command.append(f"--pool={pool}")
    if concurrency:
        command.append(f"--concurrency={concurrency}")
    if queues:
        command += ["-Q", ",".join(queues)]
    if name:
        command += ["-n", name]
    command += [f"--without-{part}" for part in without]
    if beat:
        command.append("--beat")
    command.append(f"--loglevel={loglevel}")
    return command


def celery_beat_command(*, bin_dir: Path | None = None) -> list[str]:
    """Exactly one per deployment: the schedule of saas/celery.py::BEAT_SCHEDULE."""
    return [_bin("celery", bin_dir), "-A", "saas", "beat", "--loglevel=INFO"]


def watchdog_command(*, web_url: str, python: str = "python") -> list[str]:
    """Exactly one per deployment: probes every part and opens incidents (docs/deploy.md)."""
    return [python, "manage.py", "watchdog", "--web-url", web_url]


def backup_agent_command(*, python: str = "python") -> list[str]:
    """Exactly one per deployment: streams WAL and takes the base backups (docs/recovery.md)."""
    return [python, "manage.py", "backup", "agent"]


def servers(ports: Sequence[int], *, host: str = "127.0.0.1", options: str = "") -> str:
    """An nginx upstream's `server` lines."""
    suffix = f" {options}" if options else ""
    return " ".join(f"server {host}:{port}{suffix};" for port in ports)


# Rush requests one rush process is given at once by the proxy: about a quarter second of its work at an
# opening of hundreds of companies (1,000-2,000 answers a second per process, docs/performance.md).
RUSH_INFLIGHT_PER_PROCESS = 256


# Debian's nginx modules (libnginx-mod-http-lua and the development kit it needs), for the proxy's line.
NGINX_MODULES = Path(os.environ.get("NGINX_MODULES_DIR", "/usr/lib/nginx/modules"))


def rush_line_key(secret_key: str) -> str:
    """The key the proxy signs places in its line with (nginx's RUSH_LINE_KEY), derived from SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"booking.rush.line", hashlib.sha256).hexdigest()


def _nginx_quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")  # inside nginx's single quotes


def rush_busy_bodies() -> dict[str, str]:
    """The proxy's answer over the rush budgets: the rush path's own "busy" (booking/rush/outcomes.py::busy)
    as JSON in Japanese and in English (from the booking catalogue), and its Retry-After seconds (the
    page doubles them for each busy answer in a row, up to 8 s)."""
    import gettext
    import json

    from booking.rush.outcomes import LINE_MESSAGE, busy

    outcome = busy()
    english = gettext.translation(
        "django", localedir=str(HERE.parent / "booking" / "locale"), languages=["en"]
    ).gettext
    bodies = {}
    for language, translate in (("ja", str), ("en", english)):
        text = json.dumps({**outcome.payload(), "message": translate(outcome.message)}, ensure_ascii=False)
        bodies[language] = _nginx_quoted(text)
        bodies[f"line_{language}"] = _nginx_quoted(translate(LINE_MESSAGE))
    return {**bodies, "retry_after": str(outcome.retry_after)}


def nginx_conf(
    *,
    listen: str,
    http_ports: Sequence[int],
    rush_ports: Sequence[int],
    ws_ports: Sequence[int],
    tmp: Path,
    logs: Path,
    workers: int = 1,
    host: str = "127.0.0.1",
    rush_inflight: int | None = None,
    rush_company_inflight: int | None = None,
) -> str:
    """deploy/nginx.conf.template filled in for these backends.

    The rush path's budgets at the proxy (requests being answered, all companies together and per company)
    default to RUSH_INFLIGHT_PER_PROCESS per rush process, half of that for one company (at least one
    process's worth, so a company opening alone keeps a whole process busy).
    """
    everyone = rush_inflight or RUSH_INFLIGHT_PER_PROCESS * max(len(rush_ports), 1)
    company = rush_company_inflight or max(everyone // 2, min(everyone, RUSH_INFLIGHT_PER_PROCESS))
    busy = rush_busy_bodies()
    values = {
        "LISTEN": listen,
        "NGINX_WORKERS": str(workers),
        "TMP": str(tmp),
        "LOGS": str(logs),
        "HTTP_SERVERS": servers(http_ports, host=host),
        # One failed handshake must not take a websocket or rush process out of rotation for ten seconds.
        "WS_SERVERS": servers(ws_ports, host=host, options="max_fails=0"),
        "RUSH_SERVERS": servers(rush_ports, host=host, options="max_fails=0"),
        "RUSH_INFLIGHT": str(everyone),
        "RUSH_COMPANY_INFLIGHT": str(company),
        "RUSH_BUSY_RETRY": str(busy["retry_after"]),
        "RUSH_BUSY_JA": busy["ja"],
        "RUSH_BUSY_EN": busy["en"],
        "RUSH_LINE_JA": busy["line_ja"],
        "RUSH_LINE_EN": busy["line_en"],
        "DEPLOY": str(HERE),
        "LUA_MODULES": " ".join(
            f"load_module {NGINX_MODULES / name};"
            for name in ("ndk_http_module.so", "ngx_http_lua_module.so")
        ),
    }
    values["BODY_MAX"] = f"{BODY_MAX_BYTES}"
    values["UPLOAD_LOCATIONS"] = "\n        ".join(
        f"location = {path} {{ client_max_body_size {limit}; proxy_pass http://http_app; "
        'proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host; '
        'proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Request-Start "t=${msec}"; }'
        for path, limit in UPLOAD_PATHS.items()
    )
    text = NGINX_TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


# The production Procfile: ports of one machine; nginx (deploy/nginx.conf.template) points at them.
PROCFILE_HOST = "127.0.0.1"
PROCFILE_WEB_PORT, PROCFILE_WS_PORT, PROCFILE_RUSH_PORTS = 8001, 8002, (8011, 8012)


def procfile() -> str:
    """deploy/Procfile: every process of one production machine (honcho or foreman start -f deploy/Procfile)."""
    host = PROCFILE_HOST
    lines = {
        "web": gunicorn_command(host=host, port=PROCFILE_WEB_PORT, workers=3),
        "ws": daphne_command(host=host, port=PROCFILE_WS_PORT),
        **{
            f"rush{index}": uvicorn_rush_command(host=host, port=port)
            for index, port in enumerate(PROCFILE_RUSH_PORTS, start=1)
        },
        "worker": celery_worker_command(concurrency=4),
        "beat": celery_beat_command(),
        "watchdog": watchdog_command(web_url=f"http://{host}:{PROCFILE_WEB_PORT}/healthz"),
        "backup": backup_agent_command(),
    }
    header = (
        "# Generated by `python -m deploy.layout procfile` from deploy/layout.py (tests/test_deploy.py keeps\n"
        "# them equal). One production machine; nginx with deploy/nginx.conf.template in front. Run exactly\n"
        "# one `beat`, one `watchdog` and one `backup` agent per deployment.\n"
    )
    body = "".join(f"{name}: {' '.join(command)}\n" for name, command in lines.items())
    return header + body


def main(argv: list[str]) -> int:
    if argv[1:] == ["procfile"]:
        sys.stdout.write(procfile())
        return 0
    if argv[1:] == ["line-key"]:
        # nginx's RUSH_LINE_KEY for this installation (its environment, like SECRET_KEY for the others).
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
        django.setup()
        from django.conf import settings

        sys.stdout.write(rush_line_key(settings.SECRET_KEY) + "\n")
        return 0
    print("usage: python -m deploy.layout procfile | line-key", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
