"""The production layout: the Procfile and the nginx configuration come from deploy/layout.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from deploy import layout
from saas.processes import ROOT


def test_procfile_is_the_layouts():
    assert (ROOT / "deploy" / "Procfile").read_text() == layout.procfile()


def test_procfile_runs_every_production_process_once():
    names = [line.split(":", 1)[0] for line in layout.procfile().splitlines() if not line.startswith("#")]
    assert names == ["web", "ws", "rush1", "rush2", "worker", "beat", "watchdog", "backup"]
    text = layout.procfile()
    assert "uvicorn booking.rush.asgi:application" in text and "--loop asyncio --http booking.rush.http:RushHttpProtocol" in text
    assert "gunicorn saas.wsgi:application" in text and "python -m saas.serve -e tcp:port=8002:interface=127.0.0.1:backlog=4096" in text


def test_nginx_conf_fills_every_placeholder(tmp_path):
    conf = layout.nginx_conf(
        listen="127.0.0.1:8080",
        http_ports=[8001],
        rush_ports=[8011, 8012],
        ws_ports=[8002],
        tmp=tmp_path,
        logs=tmp_path,
        workers=2,
    )
    assert not re.search(r"@[A-Z_]+@", re.sub(r"#.*", "", conf))  # every placeholder filled in
    # A placeholder that expands to several lines must never sit in a comment: its lines would become directives.
    template = (Path(layout.__file__).parent / "nginx.conf.template").read_text().splitlines()
    rendered = conf.splitlines()
    for number, line in enumerate(template):
        if not line.startswith("#"):
            break  # the header's comment lines map one to one; the first directive ends them
        assert rendered[number].startswith("#"), (number, rendered[number])
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx:  # where nginx is installed (the rush benchmark's machines), it accepts the file as it is
        (tmp_path / "nginx.conf").write_text(conf)
        check = subprocess.run(
            [nginx, "-t", "-q", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
    assert (
        "upstream rush_app {\n        least_conn; server 127.0.0.1:8011 max_fails=0; server 127.0.0.1:8012"
        in conf
    )
    assert "upstream http_app { server 127.0.0.1:8001; keepalive 64; }" in conf
    assert "listen 127.0.0.1:8080 backlog=16384 reuseport;" in conf
    assert "worker_processes 2;" in conf
    # The proxy's rush budgets: 256 per rush process in all, half of that (at least 256) per company; over
    # them, the rush path's own "busy" answer in Japanese and English.
    assert "limit_conn rush_all 512;" in conf and "limit_conn rush_company 256;" in conf
    assert "set $rush_busy_retry 2;" in conf and "error_page 429 = @rush_busy;" in conf
    # Over them a booking takes its place in the seminar's line (deploy/rush_line.lua), signed with a key
    # nginx reads from its environment; the Lua module comes from Debian's package.
    assert "rewrite_by_lua_block { rush_line.enter() }" in conf and "log_by_lua_block { rush_line.done() }" in conf
    assert "content_by_lua_block { rush_line.refused() }" in conf and "env RUSH_LINE_KEY;" in conf
    assert "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;" in conf
    assert "You are in line." in conf and "順番待ちの列に並んでいます。" in conf
    assert '"code": "busy", "message": "ただいま大変混み合っています。' in conf
    assert '"code": "busy", "message": "It is very busy right now.' in conf
    one = layout.nginx_conf(
        listen="127.0.0.1:8080", http_ports=[8001], rush_ports=[8011], ws_ports=[8002], tmp=tmp_path, logs=tmp_path
    )
    assert "limit_conn rush_all 256;" in one and "limit_conn rush_company 256;" in one
    # The split the rush path depends on: /my/rush/ to the rush processes, websockets to daphne.
    assert re.search(r"location /my/rush/ \{\s+proxy_pass http://rush_app;", conf)
    assert re.search(r"location /ws/ \{\s+proxy_pass http://ws_app;", conf)


def test_the_proxy_times_every_students_rush_answer_and_logs_nothing_personal(tmp_path):
    """The rush page, the rush path and the proxy's own busy answer are each timed in one log whose lines
    carry no address, path, query or cookie: only when, how long, status and whether the copy answered."""
    conf = layout.nginx_conf(
        listen="127.0.0.1:8080", http_ports=[8001], rush_ports=[8011], ws_ports=[8002], tmp=tmp_path, logs=tmp_path
    )
    form = re.search(r"log_format rush_timing '([^']*)';", conf)
    assert form is not None
    assert re.findall(r"\$\w+", form[1]) == ["$msec", "$request_time", "$status", "$upstream_cache_status"]
    logged = f"access_log {tmp_path}/rush-timing.log rush_timing buffer=256k flush=1s;"
    for head in (r"location ~ \^/my/rush/\[0-9\]\+/\$ \{", r"location /my/rush/ \{", r"location @rush_busy \{"):
        block = re.search(head + r".*?\n        \}", conf, re.S)  # to the location's own closing brace
        assert block is not None and logged in block[0], head
    assert conf.count("access_log ") == 4  # off for everything else


def test_no_cached_location_passes_on_a_set_cookie(tmp_path):
    """A cached answer that ignored Set-Cookie would hand one client's cookie to everyone served from cache."""
    conf = layout.nginx_conf(
        listen="127.0.0.1:8080",
        http_ports=[8001],
        rush_ports=[8011],
        ws_ports=[8002],
        tmp=tmp_path,
        logs=tmp_path,
    )
    for block in re.findall(r"location [^{]*\{[^}]*\}", conf):
        if re.search(r"\bproxy_cache\s+(?!off)\w", block):
            ignores_cookie = re.search(r"proxy_ignore_headers[^;]*Set-Cookie", block)
            assert not ignores_cookie or re.search(r"proxy_hide_header\s+Set-Cookie;", block), block


def test_daphne_listens_with_a_deep_accept_queue():
    """Twisted's default backlog of 50 overflowed while thousands of watchers connected at once."""
    import socket
    import subprocess
    import sys

    from saas.processes import LOOPBACK, ROOT, free_port, process_stop, wait_for_port
    from tests.conftest import server_env

    port = free_port()
    process = subprocess.Popen(
        layout.daphne_command(host=LOOPBACK, port=port, python=sys.executable),
        cwd=ROOT,
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        # ss shows a listener's backlog as its Send-Q (the kernel caps it at net.core.somaxconn).
        backlog = int(listening.split()[2])
        assert backlog >= min(4096, int(open("/proc/sys/net/core/somaxconn").read())) > 50, listening
        socket.create_connection((LOOPBACK, port), timeout=5).close()
    finally:
        process_stop(process)


def test_each_proxy_worker_may_open_both_ends_of_every_connection_it_takes(tmp_path):
    """A proxied request holds the client's connection and the backend's: a worker allowed more connections
    than half its descriptors fails with "Too many open files" at the opening second instead of answering
    `busy`."""
    conf = layout.nginx_conf(
        listen="127.0.0.1:8080", http_ports=[8001], rush_ports=[8011], ws_ports=[8002], tmp=tmp_path, logs=tmp_path
    )
    connections = re.search(r"worker_connections (\d+);", conf)
    files = re.search(r"worker_rlimit_nofile (\d+);", conf)
    assert connections is not None and files is not None
    assert 2 * int(connections[1]) <= int(files[1])


def test_the_proxys_line_key_is_derived_from_the_installations_secret():
    """Places in the proxy's line are signed with a key of this installation: another SECRET_KEY, another key,
    and the key never is the secret itself."""
    key = layout.rush_line_key("one secret")
    assert key == layout.rush_line_key("one secret") and len(key) == 64
    assert key != layout.rush_line_key("another secret") and "one secret" not in key
