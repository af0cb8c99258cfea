"""URLs of the API on a company's host: the API itself and its tokens page."""

from django.urls import path

from api import views
from api.company import company_api

urlpatterns = [
    path("api/v1/", company_api.urls),
    path("settings/api-tokens/", views.tokens_view, name="api_tokens"),
]
