"""URLs of the public site (BASE_DOMAIN): landing page and support staff pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.language import language_set
from accounts.views import ThrottledLoginView
from saas.i18n import javascript_catalog
from saas.views import healthz
from tenants import views as tenant_views

urlpatterns = [
    # First: on status.<BASE_DOMAIN> the root is the status page (incidents.urls hands other hosts to public_home).
    path("", include("incidents.urls")),
    path("", tenant_views.public_home, name="public_home"),
    path("healthz", healthz, name="healthz"),
    path(
        "support/login/",
        ThrottledLoginView.as_view(next_page="/support/incidents/"),
        name="login",
    ),
    path("support/logout/", auth_views.LogoutView.as_view(next_page="public_home"), name="logout"),
    path("support/tenants/", tenant_views.support_tenant_list, name="support_tenant_list"),
    path(
        "support/tenants/<slug:slug>/delete/",
        tenant_views.support_tenant_delete,
        name="support_tenant_delete",
    ),
    path("i18n/setlang/", language_set, name="set_language"),
    path("i18n/js/", javascript_catalog, name="javascript_catalog"),
    path("", include("notifications.urls_public")),
    path("", include("api.urls_public")),
]

# The database away answers 503 "try again in a few seconds"; any other uncaught error the plain 500 page.
handler500 = "saas.unavailable.server_error"
