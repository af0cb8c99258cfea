"""Settings, read from the environment; safe defaults for production."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ

from saas import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("SAAS_TESTING", default=False)
# `make demo`: production behaviour (DEBUG off, real error pages) on one machine, plus the demo's mailbox
# page for support staff; the secret key is the installation's own, like the tests'.
DEMO = env.bool("DEMO", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING or DEMO):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Never a fixed string: a key of its own per installation, kept in its data folder.
    from saas.secretkey import installation_secret_key

    SECRET_KEY = installation_secret_key(data_dir=embedded.DATA_DIR)

BASE_DOMAIN = env("BASE_DOMAIN", default="localhost").lower()
STATUS_DOMAIN = f"status.{BASE_DOMAIN}"
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]

# Service URLs: the environment wins; otherwise embedded servers under .data/ start on demand.
_services = embedded.environment()
DATABASE_URL = _services["DATABASE_URL"]
REDIS_URL = _services["REDIS_URL"]


def redis_url(db: int) -> str:
    """REDIS_URL with another logical database, so cache, broker and channels never collide."""
    parts = urlsplit(REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


SHARED_APPS = [
    "django_tenants",
    "daphne",
    "tenants",
    "accounts",
    "incidents",
    "recovery",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # its widget templates, for the project's form renderer (saas/forms.py)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "channels",
    "ninja",  # the API docs page's own copy of its scripts (no CDN)
    "api",  # support staff's tokens for the platform API live in the public schema
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "accounts",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "seasons",
    "candidates",
    "booking",
    "notifications",
    "selection",
    "webhooks",
    "api",
    "dashboard",
]
# `make bench-fleet` deploys one real migration to every company through `manage.py bootstrap` (bench/fleet.py).
if os.environ.get("SAAS_BENCH_FLEET_MIGRATION") == "1":
    TENANT_APPS.append("bench.fleet_migration")
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New tenants are cloned from a migrated template schema: seconds, however many migrations exist.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
ROOT_URLCONF = "saas.urls_tenants"
DEFAULT_NOT_FOUND_TENANT_VIEW = "tenants.views.unknown_host"

MIDDLEWARE = [
    "saas.clientaddress.ClientAddressMiddleware",  # REMOTE_ADDR from a trusted proxy's X-Forwarded-For
    "tenants.middleware.TenantMiddleware",
    "recovery.middleware.TenantMaintenanceMiddleware",  # a company being restored gets its maintenance page
    "incidents.traffic.TenantTrafficMiddleware",  # per-company error rate and latency for the watchdog
    "booking.rush.middleware.RushMiddleware",  # /my/rush/ answers here, ahead of sessions and CSRF
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TotpRequiredMiddleware",  # a company that requires TOTP: set it up first
    "accounts.language.UserLanguageMiddleware",  # a signed-in user's chosen language wins over the browser's
    "seasons.middleware.SeasonMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "saas.i18n.javascript_catalog_url",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.workspace",
                "incidents.context_processors.incident_banners",
                "seasons.context_processors.season",
                "selection.context_processors.mypage",
            ],
            # {% load dates %}: dates and times in the active language (saas/dates.py)
            "libraries": {"dates": "saas.dates"},
        },
    },
]

FORM_RENDERER = "saas.forms.FormRenderer"

ASGI_APPLICATION = "saas.asgi.application"
WSGI_APPLICATION = "saas.wsgi.application"

_database = env.db_url_config(DATABASE_URL)
if "," in str(_database.get("HOST", "")):
    # Primary and standby listed (postgres://u@h1:5432,h2:5432/db): libpq tries them in turn and keeps the
    # one that accepts writes, so after a failover new connections reach the promoted server by themselves.
    _database.setdefault("OPTIONS", {}).setdefault("target_session_attrs", "read-write")
_database["ENGINE"] = "django_tenants.postgresql_backend"
# Django's psycopg pool: the connection count stays bounded under ASGI's many threads.
_database["CONN_MAX_AGE"] = 0
# The pool checks each connection before handing it out (ConnectionPool.check_connection): connections
# broken while PostgreSQL was away are discarded instead of failing the next requests.
_database["CONN_HEALTH_CHECKS"] = True
_database.setdefault("OPTIONS", {})["pool"] = {
    "min_size": env.int("DB_POOL_MIN", default=1),
    "max_size": env.int("DB_POOL_MAX", default=20 if TESTING else 8),  # tests run many threads
    # Seconds a request waits for a connection: with PostgreSQL away students get the 503 page fast.
    "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),
    # A reconnection series gives up after this; the next request starts a new one at once, so the pool
    # is back within seconds of PostgreSQL instead of sleeping through a backoff grown during the outage.
    "reconnect_timeout": env.float("DB_POOL_RECONNECT_TIMEOUT", default=5.0),
}
# A server that does not answer at all (host down, packets dropped) fails a connect in seconds, not minutes.
_database["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
_database["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=f"test_{_database['NAME']}")}
DATABASES = {"default": _database}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url(1),
        # Every cache key carries the schema of the tenant it belongs to.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    }
}

CHANNEL_LAYERS = {
    "default": {
        # One PUBLISH per group send, whatever the number of listeners.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [redis_url(3)], "prefix": "saas"},
    }
}

CELERY_BROKER_URL = redis_url(2)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Tokyo"

# Sessions and CSRF cookies stay host-only: a company's cookie never travels to another subdomain.
SESSION_ENGINE = "accounts.sessions"  # database sessions + foreign-session leak signal
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
HTTPS = env.bool("HTTPS", default=not DEBUG and not TESTING and BASE_DOMAIN != "localhost")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)

_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"no-reply@{BASE_DOMAIN}")

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]  # i18n: data — each language's name in itself
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language switch (accounts/language.py) remembers a student's choice in this cookie for a year.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SECURE = HTTPS
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media"))
MEDIA_URL = "/media/"
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Paths that carry a token (sign-in, password, acknowledgement, unsubscribe links) lose it (saas/redact.py).
    "filters": {"secrets": {"()": "saas.redact.SecretsRedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secrets"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request's full URL at INFO: a webhook address may carry its receiver's token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from saas.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", default="production"))

SUPPORT_EMAIL = env("SUPPORT_EMAIL", default=f"support@{BASE_DOMAIN}")

PUBLIC_PORT = env("PUBLIC_PORT", default="8000" if (DEBUG or BASE_DOMAIN == "localhost") else "")
# Proxies whose X-Forwarded-For names the client (saas/clientaddress.py) and whose X-Request-Start the
# waiting room believes (booking/rush/request.py): addresses or networks. Empty: trust none (the demo).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Exact "address:port" pairs outgoing HTTP may reach although not public (saas/egress.py); empty in production.
OUTGOING_HTTP_ALLOW = env.list("OUTGOING_HTTP_ALLOW", default=[])
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

# Development and tests serve static files straight from the app folders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
if WHITENOISE_USE_FINDERS:
    STATIC_ROOT.mkdir(exist_ok=True)

# Seat counters of the booking rush (a Redis of their own may be named; defaults to the main one, db 4).
RUSH_REDIS_URL = env("RUSH_REDIS_URL", default=redis_url(4))
# Incidents: a major incident no admin acknowledged is escalated after this; maintenance reminders go this early.
INCIDENT_ACK_ESCALATE_MINUTES = env.int("INCIDENT_ACK_ESCALATE_MINUTES", default=30)
INCIDENT_MAINTENANCE_REMINDER_HOURS = env.int("INCIDENT_MAINTENANCE_REMINDER_HOURS", default=24)
# Live seat counts: the changes of a seminar are pushed together once per window (booking/live.py).
SEAT_PUSH_WINDOW_SECONDS = env.float("SEAT_PUSH_WINDOW_SECONDS", default=0.5)
RUSH_KEY_PREFIX = ""
# The notifications' raw Redis keys (rate buckets, wake-ups; notifications/keys.py) on the cache's Redis.
NOTIFICATIONS_KEY_PREFIX = ""

if TESTING:
    # Test runs that share one Redis (several checkouts, parallel runs) must not see each other's cache
    # entries, channel groups or Celery tasks; subprocesses the tests start inherit the same key.
    TEST_RUN = os.environ.setdefault("SAAS_TEST_RUN", _database["TEST"]["NAME"])
    CACHES["default"]["KEY_PREFIX"] = TEST_RUN
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"saas-{TEST_RUN}"  # type: ignore[index]
    CELERY_TASK_DEFAULT_QUEUE = f"celery-{TEST_RUN}"
    RUSH_KEY_PREFIX = f"{TEST_RUN}:"
    NOTIFICATIONS_KEY_PREFIX = f"{TEST_RUN}:"

# Backups (recovery/, docs/recovery.md): base backups + WAL, sealed to an age recipient, in a directory or S3.
BACKUP_URL = env("BACKUP_URL", default=str(BASE_DIR / ".data" / "backups"))
BACKUP_DATABASE_URL = env("BACKUP_DATABASE_URL", default="")  # a REPLICATION role; default: DATABASE_URL's
BACKUP_RECIPIENT = env("BACKUP_RECIPIENT", default="")  # age1…; default: .data/backup-keys/recipient.txt
# Only the restore commands open this file; settings hold its path, never the key.
BACKUP_IDENTITY_FILE = env(
    "BACKUP_IDENTITY_FILE", default=str(BASE_DIR / ".data" / "backup-keys" / "identity.txt")
)
BACKUP_SPOOL = env("BACKUP_SPOOL", default=str(BASE_DIR / ".data" / "backup-spool"))
BACKUP_FULL_HOURS = env.float("BACKUP_FULL_HOURS", default=24.0)
BACKUP_INCREMENTAL_HOURS = env.float("BACKUP_INCREMENTAL_HOURS", default=1.0)
BACKUP_WAL_SWITCH_SECONDS = env.float("BACKUP_WAL_SWITCH_SECONDS", default=30.0)
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=7)
BACKUP_KEEP_WEEKLY = env.int("BACKUP_KEEP_WEEKLY", default=4)
BACKUP_MAX_AGE_HOURS = env.float("BACKUP_MAX_AGE_HOURS", default=26.0)
# A deleted company's export (tenants/exports.py, sealed like the backups) is removed after these days.
EXPORT_KEEP_DAYS = env.float("EXPORT_KEEP_DAYS", default=30.0)
BACKUP_LOCK_DAYS = env.int("BACKUP_LOCK_DAYS", default=35)  # S3 Object Lock retention, when the bucket has it
# Probes other apps add to the watchdog (incidents/watchdog/probes.py): the age of the last good backup.
WATCHDOG_PROBES = ["recovery.probes.backup_probe"]
# The watchdog's confirmation (incidents/watchdog/monitor.py, docs/deploy.md): an automatic incident opens when
# at least WATCHDOG_FAILURES probes failed within WATCHDOG_WINDOW_SECONDS and were at least WATCHDOG_FAILURE_RATIO
# of the window's probes; it resolves itself after WATCHDOG_QUIET_SECONDS without a failure.
WATCHDOG_INTERVAL_SECONDS = env.float("WATCHDOG_INTERVAL_SECONDS", default=5.0)
WATCHDOG_WINDOW_SECONDS = env.float("WATCHDOG_WINDOW_SECONDS", default=60.0)
WATCHDOG_FAILURES = env.int("WATCHDOG_FAILURES", default=3)
WATCHDOG_FAILURE_RATIO = env.float("WATCHDOG_FAILURE_RATIO", default=0.5)
WATCHDOG_RECOVER_AFTER = env.int("WATCHDOG_RECOVER_AFTER", default=3)
WATCHDOG_QUIET_SECONDS = env.float("WATCHDOG_QUIET_SECONDS", default=120.0)
# Per company, from its own requests over the last minute (incidents/traffic.py): a company fails a round when
# it had at least WATCHDOG_TENANT_MIN_REQUESTS requests and WATCHDOG_TENANT_ERROR_RATE of them were server
# errors, or their mean time reached WATCHDOG_TENANT_SLOW_SECONDS; the window above confirms it.
WATCHDOG_TENANT_MIN_REQUESTS = env.int("WATCHDOG_TENANT_MIN_REQUESTS", default=20)
WATCHDOG_TENANT_ERROR_RATE = env.float("WATCHDOG_TENANT_ERROR_RATE", default=0.2)
WATCHDOG_TENANT_SLOW_SECONDS = env.float("WATCHDOG_TENANT_SLOW_SECONDS", default=2.0)
# ...and per-round work: promoting the standby when the primary is gone (recovery/failover.py).
WATCHDOG_HOOKS = ["recovery.failover.failover_hook"]
FAILOVER_STANDBY = env("FAILOVER_STANDBY", default="")  # host:port of the standby; empty: no promotion
FAILOVER_PROMOTE_AFTER = env.float("FAILOVER_PROMOTE_AFTER", default=10.0)  # seconds the primary must be gone
FAILOVER_PRIMARY_DATA = env("FAILOVER_PRIMARY_DATA", default="")  # the primary's data folder, fenced if local
