"""The product's settings with the baseline view routed on company hosts."""

from saas.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline.urls"
