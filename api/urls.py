"""URLs of the API on a company's host: the API itself and its tokens page."""

from django.urls import path

from api import views
from api.company import company_api
from api.webhooks import views as webhooks_views

urlpatterns = [
    path("api/v1/", company_api.urls),
    path("settings/api-tokens/", views.tokens_view, name="api_tokens"),
    path("settings/webhooks/", webhooks_views.webhooks_view, name="api_webhooks"),
]
