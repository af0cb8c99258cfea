"""The watchdog's state machine: open on failure confirmed over a window, monitor on recovery, resolve when quiet.

One failed probe never opens an incident (a health check that timed out once under load is not an outage):
a probe opens one when, within the last `window_seconds`, at least `fail_after` of its probes failed and they
were at least `fail_ratio` of its probes there. After `recover_after` good probes in a row the incident is
monitored; after `stable_seconds` without a failure (the quiet window) it resolves itself, with a post.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connections
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from django_tenants.utils import get_public_schema_name, schema_context

from incidents.watchdog.probes import SPECS
from notifications.services.direct import mail_send_without_database

logger = logging.getLogger("incidents.watchdog")
ACTOR = "watchdog"
# Failures of these take the queue (Redis) or the database with them: notify straight from here.
DIRECT = frozenset({"postgres", "redis"})


@dataclass
class Config:
    interval: float = 5.0
    fail_after: int = 3  # failed probes within the window, at least
    recover_after: int = 3
    stable_seconds: float = 120.0  # the quiet window: no failure this long resolves a monitored incident
    directory_seconds: float = 300.0
    tally_seconds: float = 60.0  # probe outcomes are written per component and day this often
    window_seconds: float = 60.0
    fail_ratio: float = 0.5  # ...and at least this share of the window's probes

    @classmethod
    def from_settings(cls, **overrides: float) -> Config:
        """The deployment's timings (settings.WATCHDOG_*, each from the environment; docs/deploy.md)."""
        return cls(
            **{
                "interval": settings.WATCHDOG_INTERVAL_SECONDS,
                "fail_after": settings.WATCHDOG_FAILURES,
                "fail_ratio": settings.WATCHDOG_FAILURE_RATIO,
                "window_seconds": settings.WATCHDOG_WINDOW_SECONDS,
                "recover_after": settings.WATCHDOG_RECOVER_AFTER,
                "stable_seconds": settings.WATCHDOG_QUIET_SECONDS,
            }
            | overrides
        )


@dataclass
class ProbeState:
    phase: str = "ok"  # ok → open → monitoring → ok
    successes: int = 0  # good probes in a row
    monitoring_since: float = 0.0
    last_error: str = ""
    window: deque = field(default_factory=deque)  # (monotonic time, failed) of the window's probes

    def observe(self, *, now: float, failed: bool, window_seconds: float) -> tuple[int, int]:
        """Record one probe; the window's (failures, probes)."""
        self.window.append((now, failed))
        while self.window and self.window[0][0] < now - window_seconds:
            self.window.popleft()
        return sum(1 for _at, bad in self.window if bad), len(self.window)


@dataclass
class Action:
    probe: str  # the probe's name, or "<name>@<schema>" for one company's part of a per-company probe
    kind: str  # open | relapse | monitoring | resolved
    at: datetime
    notified_directly: bool = False

    @property
    def spec_name(self) -> str:
        return self.probe.split("@")[0]

    @property
    def schema(self) -> str:
        """The one company concerned ("" when the probe speaks of the whole platform)."""
        return self.probe.partition("@")[2]


@dataclass
class Contact:
    tenant_id: int
    slug: str
    name: str
    admin_emails: tuple[str, ...]  # the company's active admins now, not the address given at creation
    schema: str = ""


@dataclass
class Watchdog:
    probes: list
    config: Config = field(default_factory=Config)
    clock: Callable[[], float] = time.monotonic
    states: dict[str, ProbeState] = field(default_factory=dict)
    pending: deque = field(default_factory=deque)
    directory: list[Contact] = field(default_factory=list)
    directory_at: float = -1e9
    sent: list[tuple[str, str]] = field(default_factory=list)
    # (component slug, day) → [probes, failures] not yet written (incidents.services.uptime)
    tallies: dict = field(default_factory=dict)
    tallied_at: float | None = None
    # Other apps' per-round work (recovery.failover.FailoverController): each has tick(); failures are logged.
    hooks: list = field(default_factory=list)

    def __post_init__(self) -> None:
        for probe in self.probes:
            self.states.setdefault(probe.name, ProbeState())
            if hasattr(probe, "spec"):  # probes other apps contribute bring their own spec
                SPECS.setdefault(probe.name, probe.spec)

    # ---- one round -------------------------------------------------------------------------
    def tick(self) -> list[Action]:
        results: dict[str, str | None] = {}
        for probe in self.probes:
            if hasattr(probe, "check_tenants"):
                results |= self._per_company(probe)
            else:
                results[probe.name] = _run(probe)
        database_up = results.get("postgres") is None
        self._tally(results)
        actions: list[Action] = []
        for name, error in results.items():
            action = self._advance(name, error)
            if action is not None:
                actions.append(action)
        if database_up:
            self._directory_refresh()
        for action in actions:
            logger.warning(
                "watchdog %s %s (%s)", action.probe, action.kind, self.states[action.probe].last_error
            )
            if action.spec_name in DIRECT or not database_up:
                self._notify_directly(action)
        self.pending.extend(actions)
        for hook in self.hooks:
            try:
                hook.tick()
            except Exception:
                logger.exception("watchdog hook %s failed", type(hook).__name__)
        if database_up:
            self.flush()
        return actions

    def run_forever(self) -> None:
        while True:
            started = self.clock()
            try:
                self.tick()
            except Exception:  # the watchdog must outlive anything it watches
                logger.exception("watchdog round failed")
            time.sleep(max(0.0, self.config.interval - (self.clock() - started)))

    def _per_company(self, probe) -> dict[str, str | None]:
        """One result per company the probe speaks of, keyed "<name>@<schema>"; a company it watched before
        and is silent about now (no requests) counts as healthy. A probe that cannot read says nothing."""
        try:
            found = probe.check_tenants()
        except Exception as error:  # its store (Redis) has its own probe
            logger.warning("watchdog %s unreadable (%s)", probe.name, type(error).__name__)
            return {}
        results: dict[str, str | None] = {f"{probe.name}@{schema}": error for schema, error in found.items()}
        for key in self.states:
            if key.startswith(f"{probe.name}@"):
                results.setdefault(key, None)
        return results

    # ---- state machine ---------------------------------------------------------------------
    def _advance(self, name: str, error: str | None) -> Action | None:
        state = self.states.setdefault(name, ProbeState())
        now = self.clock()
        failures, probes = state.observe(
            now=now, failed=error is not None, window_seconds=self.config.window_seconds
        )
        if error is not None:
            state.successes = 0
            state.last_error = error
            if state.phase == "monitoring":
                state.monitoring_since = now  # the quiet window starts again
            confirmed = failures >= self.config.fail_after and failures >= self.config.fail_ratio * probes
            if confirmed and state.phase in ("ok", "monitoring"):
                kind = "open" if state.phase == "ok" else "relapse"
                state.phase = "open"
                return Action(name, kind, timezone.now())
            return None
        state.successes += 1
        if state.phase == "open" and state.successes >= self.config.recover_after:
            state.phase = "monitoring"
            state.monitoring_since = now
            return Action(name, "monitoring", timezone.now())
        if state.phase == "monitoring" and now - state.monitoring_since >= self.config.stable_seconds:
            state.phase = "ok"
            return Action(name, "resolved", timezone.now())
        return None

    # ---- notifying without the database ----------------------------------------------------
    def _directory_refresh(self) -> None:
        if self.clock() - self.directory_at < self.config.directory_seconds:
            return
        from incidents.services.notify import recipients_of
        from tenants.selectors import tenant_all

        try:
            with schema_context(get_public_schema_name()):
                tenants = list(tenant_all().only("pk", "slug", "name", "schema_name"))
                admins = recipients_of(tenants=tenants)  # one query over every company's schema
                self.directory = [
                    Contact(
                        t.pk,
                        t.slug,
                        t.name,
                        tuple(email for _id, email, _admin in admins[t.pk] if email),
                        t.schema_name,
                    )
                    for t in tenants
                ]
            self.directory_at = self.clock()
        except DatabaseError:
            _database_reset()

    def _notify_directly(self, action: Action) -> None:
        """Banner (channel layer) and e-mail (SMTP): neither needs PostgreSQL."""
        from incidents.services.notify import banners_push
        from tenants.models import Tenant

        spec = SPECS[action.spec_name]
        text = _message(action, spec.title)
        action.notified_directly = True
        public = spec.impact in ("major", "critical")
        # A company's own signal concerns that company only.
        told = [c for c in self.directory if not action.schema or c.schema == action.schema]
        admins = [email for contact in told for email in contact.admin_emails] if public else []
        mail_send_without_database(
            to=[settings.SUPPORT_EMAIL],
            bcc=admins,
            subject=_in("ja", MAIL_SUBJECT) % {"title": spec.title},
            body=text,
        )
        self.sent.append((action.probe, action.kind))
        if not public:
            return
        tenants = [
            Tenant(pk=contact.tenant_id, slug=contact.slug, schema_name=f"t_{contact.slug}")
            for contact in told
        ]
        try:
            banners_push(
                tenants=tenants, event={"type": "banner", "text": text.splitlines()[0], "source": "watchdog"}
            )
        except Exception:  # Redis itself may be what is down
            logger.warning("watchdog banner push failed")

    # ---- uptime: every platform probe's outcome, per component it stands for and day ---------
    def _tally(self, results: dict[str, str | None]) -> None:
        today = timezone.localdate()
        for name, error in results.items():
            spec = SPECS.get(name)  # one company's part of a per-company probe is not the platform's uptime
            for slug in spec.components if spec is not None else ():
                counts = self.tallies.setdefault((slug, today), [0, 0])
                counts[0] += 1
                counts[1] += error is not None

    def tallies_write(self, *, force: bool = False) -> None:
        from incidents.services.uptime import probe_days_add

        if self.tallied_at is None:
            self.tallied_at = self.clock()
        if not self.tallies or (not force and self.clock() - self.tallied_at < self.config.tally_seconds):
            return
        try:
            with schema_context(get_public_schema_name()):
                probe_days_add(
                    tallies={key: (probes, failed) for key, (probes, failed) in self.tallies.items()}
                )
        except DatabaseError:
            _database_reset()
            return
        self.tallies.clear()
        self.tallied_at = self.clock()

    # ---- recording when the database is there ----------------------------------------------
    def flush(self) -> int:
        self.tallies_write()
        done = 0
        while self.pending:
            action = self.pending[0]
            try:
                with schema_context(get_public_schema_name()):
                    _record(action)
            except DatabaseError:
                _database_reset()
                break
            self.pending.popleft()
            done += 1
        return done


def _run(probe) -> str | None:
    try:
        probe.check()
    except Exception as error:
        return type(error).__name__
    return None


def _database_reset() -> None:
    for connection in connections.all():
        try:
            connection.close()
        except Exception:
            pass


MESSAGES = {
    "open": gettext_noop("%(title)sを検知しました（%(at)s）。現在、原因を調査しています。"),
    "relapse": gettext_noop("%(title)sが再発しました（%(at)s）。引き続き調査しています。"),
    "monitoring": gettext_noop("%(title)sは復旧しました（%(at)s）。経過を観察しています。"),
    "resolved": gettext_noop("%(title)sは安定して復旧しました（%(at)s）。本件は解決しました。"),
}
MAIL_SUBJECT = gettext_noop("【障害のお知らせ】%(title)s")


def _in(language: str, text: str) -> str:
    """A msgid in this language (the incident's Japanese and English fields are written together)."""
    with translation.override(language):
        return gettext(text)


def _message(action: Action, title: str, *, language: str = "ja") -> str:
    at = timezone.localtime(action.at).strftime("%Y-%m-%d %H:%M:%S")
    return _in(language, MESSAGES[action.kind]) % {"title": _in(language, title), "at": at}


def _record(action: Action) -> None:
    from incidents.models import Component, Incident, Scope, Source, State, Visibility
    from incidents.services.lifecycle import incident_create, incident_update_post
    from tenants.models import Tenant

    spec = SPECS[action.spec_name]
    key = f"watchdog:{action.probe}"
    text, text_en = _message(action, spec.title), _message(action, spec.title, language="en")
    notify = not action.notified_directly
    incident = Incident.objects.filter(detection_key=key).exclude(state=State.RESOLVED).first()
    if action.kind == "open":
        if incident is not None:
            return
        shown = Visibility.PUBLIC if spec.impact in ("major", "critical") else Visibility.DRAFT
        tenants = list(Tenant.objects.filter(schema_name=action.schema)) if action.schema else []
        if action.schema and not tenants:
            return  # the company was deleted meanwhile
        incident_create(
            actor=ACTOR,
            title=spec.title,
            title_en=_in("en", spec.title),
            message_ja=text,
            message_en=text_en,
            impact=spec.impact,
            # One company's signal names that company only, and only its people see it.
            scope=Scope.CHOSEN if tenants else Scope.ALL,
            tenants=tenants,
            components=Component.objects.filter(slug__in=spec.components),
            component_status=spec.component_status,
            visibility=Visibility.TENANTS if tenants and shown == Visibility.PUBLIC else shown,
            source=Source.WATCHDOG,
            detection_key=key,
            notify=notify,
        )
        return
    if incident is None:
        return
    state = {"relapse": State.INVESTIGATING, "monitoring": State.MONITORING, "resolved": State.RESOLVED}[
        action.kind
    ]
    incident_update_post(
        actor=ACTOR, incident=incident, state=state, message_ja=text, message_en=text_en, notify=notify
    )
