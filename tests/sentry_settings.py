"""Settings for the Sentry test server: the product's settings with a URLconf that has a failing view."""

from saas.settings import *  # noqa: F403

ROOT_URLCONF = "tests.sentry_urls"
