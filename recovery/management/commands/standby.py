"""`manage.py standby create|status|promote|rejoin`: the streaming standby and its change of role."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recovery import postgres
from recovery.errors import RecoveryError
from recovery.standby import role_of, standby_create, standby_promote, standby_rejoin


def _server(text: str) -> postgres.Server:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"host:port の形で指定してください: {text!r}")
    app = postgres.application_server()
    return postgres.Server(host=host, port=int(port), user=app.user, password=app.password)


class Command(BaseCommand):
    help = "Create a synchronous streaming standby, show roles, promote it, or rejoin a former primary."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="copy the primary into a data folder and start it as its standby"
        )
        create.add_argument("--data", default=str(Path(settings.BASE_DIR) / ".data" / "pg-standby"))
        create.add_argument("--port", type=int, required=True)
        create.add_argument("--asynchronous", action="store_true", help="do not make commits wait for it")
        status = sub.add_parser("status", help="which server is primary, which streams")
        status.add_argument("--standby", default=settings.FAILOVER_STANDBY)
        promote = sub.add_parser(
            "promote", help="promote the standby (refused while the primary accepts writes)"
        )
        promote.add_argument("--standby", default=settings.FAILOVER_STANDBY)
        promote.add_argument("--force", action="store_true", help="promote even if the primary answers")
        rejoin = sub.add_parser(
            "rejoin", help="rewind a stopped former primary and start it as the new standby"
        )
        rejoin.add_argument("--data", required=True, help="the former primary's data folder")
        rejoin.add_argument("--port", type=int, required=True, help="the port it will listen on")
        rejoin.add_argument("--primary", required=True, help="host:port of the new primary")

    def handle(self, *args, action: str, **options) -> None:
        primary = postgres.application_server()
        try:
            if action == "create":
                cluster = standby_create(
                    primary=primary,
                    pgdata=Path(options["data"]),
                    port=options["port"],
                    synchronous=not options["asynchronous"],
                )
                self.stdout.write(
                    f"standby streaming on 127.0.0.1:{cluster.port} ({cluster.pgdata}). List both servers in "
                    f"DATABASE_URL (…@{primary.host}:{primary.port},127.0.0.1:{cluster.port}/…) and set "
                    f"FAILOVER_STANDBY=127.0.0.1:{cluster.port} for the watchdog."
                )
            elif action in ("status", "promote"):
                if not options["standby"]:
                    raise CommandError("--standby host:port (or FAILOVER_STANDBY) を指定してください。")
                standby = _server(options["standby"])
                if action == "promote":
                    standby_promote(standby=standby, primary=primary, force=options["force"])
                for name, server in (("primary", primary), ("standby", standby)):
                    role = role_of(server)
                    state = (
                        "down"
                        if not role.reachable
                        else "primary (accepts writes)"
                        if role.primary
                        else "standby, streaming"
                        if role.receiving
                        else "standby, not streaming"
                    )
                    self.stdout.write(f"{name} {server.host}:{server.port}: {state}")
            elif action == "rejoin":
                old = postgres.Cluster(pgdata=Path(options["data"]), port=options["port"])
                standby_rejoin(old_primary=old, new_primary=_server(options["primary"]))
                self.stdout.write(
                    f"{old.pgdata} streams from {options['primary']} as its synchronous standby"
                )
        except RecoveryError as error:
            raise CommandError(str(error)) from error
