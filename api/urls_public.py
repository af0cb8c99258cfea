"""URLs of the API on the public site: the status API."""

from django.urls import path

from api import views
from api.platform import platform_api

urlpatterns = [
    path("api/v1/", platform_api.urls),
    path("support/api-tokens/", views.staff_tokens_view, name="api_staff_tokens"),
]
