"""User accounts. The table exists in every schema: public holds support staff, a tenant's holds its recruiters."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("管理者")
    RECRUITER = "recruiter", _("採用担当")
    VIEWER = "viewer", _("閲覧のみ")
    # Sees only the students of their own interviews (and of the rounds they evaluate), nothing else.
    INTERVIEWER = "interviewer", _("面接官")


class EmailUserManager(UserManager):
    def get_by_natural_key(self, username: str):  # type: ignore[override]
        return self.get(email__iexact=username)


class User(AbstractUser):
    # Sign-in is by e-mail; username mirrors it for Django's admin tooling.
    email = models.EmailField(_("メールアドレス"), unique=True)
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    role = models.CharField(_("権限"), max_length=16, choices=Role.choices, default=Role.RECRUITER)
    # The language the person chose with the header's switch; empty: the browser's (LocaleMiddleware) decides.
    language = models.CharField(
        _("表示言語"), max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects = EmailUserManager()  # type: ignore[misc]  # Django's documented way to replace the manager

    @property
    def is_tenant_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.ADMIN, Role.RECRUITER)
