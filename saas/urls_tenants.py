"""URLs of a company's subdomain (<slug>.BASE_DOMAIN): recruiters' workspace and students' My Page."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import views as account_views
from accounts.language import language_set
from saas.i18n import javascript_catalog
from saas.views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("login/", account_views.TenantLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("home/", account_views.home, name="home"),
    path(
        "accounts/password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_set.html", success_url="/login/?password_set=1"
        ),
        name="password_set",
    ),
    path("i18n/setlang/", language_set, name="set_language"),
    path("i18n/js/", javascript_catalog, name="javascript_catalog"),
    path("", include("seasons.urls")),
    path("", include("candidates.urls")),
    path("", include("booking.urls")),
    path("", include("notifications.urls")),
    path("", include("selection.urls")),
    path("", include("dashboard.urls")),
    path("", include("incidents.urls_tenant")),
    path("", include("api.urls")),
]

# The database away answers 503 "try again in a few seconds"; any other uncaught error the plain 500 page.
handler500 = "saas.unavailable.server_error"
