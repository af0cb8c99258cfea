"""The product's tenant URLs plus the baseline booking view."""

from django.urls import path

from bench.baseline.views import baseline_book
from saas.urls_tenants import urlpatterns as product_urls

urlpatterns = [path("baseline/book/", baseline_book), *product_urls]
