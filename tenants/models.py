"""Client companies (tenants) and the host names that reach them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    name = models.CharField(_("会社名"), max_length=200)
    slug = models.SlugField(_("サブドメイン"), max_length=40, unique=True)
    admin_email = models.EmailField(_("管理者メールアドレス"), blank=True)
    # Every recruiter must sign in with an authenticator code (accounts/middleware.py enforces it).
    recruiter_totp_required = models.BooleanField(_("全員に2段階認証を必須にする"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are created by tenants.services.tenant_create (cloned from the template), never implicitly.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
