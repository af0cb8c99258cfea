"""The tenant URLconf plus a view that fails with personal data around it."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from saas.urls_tenants import urlpatterns as tenant_urlpatterns


@csrf_exempt
def fail(request: HttpRequest) -> HttpResponse:
    student = {"family_name": request.POST.get("family_name"), "email": request.POST.get("email")}  # noqa: F841
    raise ValueError(f"could not save {request.POST.get('email')} tel {request.POST.get('phone')}")


def fail_with_token(request: HttpRequest, token: str) -> HttpResponse:
    # As in the product, the names come from data (here the query string), not from the source.
    raise ValueError(f"could not open <Candidate: {request.GET['kanji']}> for '{request.GET['roman']}'")


# Before the product's own /my/login/<token>/, so this one answers: a failure on an address carrying a token.
urlpatterns = [path("my/login/<str:token>/fail/", fail_with_token), *tenant_urlpatterns, path("fail/", fail)]
