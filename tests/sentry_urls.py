"""The tenant URLconf plus a view that fails with personal data around it."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from saas.urls_tenants import urlpatterns as tenant_urlpatterns


@csrf_exempt
def fail(request: HttpRequest) -> HttpResponse:
    student = {"family_name": request.POST.get("family_name"), "email": request.POST.get("email")}  # noqa: F841
    raise ValueError(f"could not save {request.POST.get('email')} tel {request.POST.get('phone')}")


urlpatterns = [*tenant_urlpatterns, path("fail/", fail)]
