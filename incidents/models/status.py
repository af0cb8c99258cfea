"""Components, incidents, their timeline, maintenance windows and acknowledgements (public schema)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


def _reads_english() -> bool:
    return (translation.get_language() or "").startswith("en")


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", _("正常")
    DEGRADED = "degraded", _("パフォーマンス低下")
    PARTIAL = "partial_outage", _("一部障害")
    MAJOR = "major_outage", _("重大な障害")
    MAINTENANCE = "maintenance", _("メンテナンス中")


class Component(models.Model):
    """One part of the service clients can see on the status pages."""

    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("名称（英語）"), max_length=100, blank=True)
    slug = models.SlugField(_("識別子"), max_length=40, unique=True)
    position = models.PositiveSmallIntegerField(_("表示順"), default=0)
    affects_booking = models.BooleanField(_("説明会予約・マイページに影響"), default=False)
    status = models.CharField(
        _("状態"), max_length=20, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name_for_reader(self) -> str:
        """The English name for a reader of English when there is one (the default components have one)."""
        return self.name_en if self.name_en and _reads_english() else self.name


class Impact(models.TextChoices):
    NONE = "none", _("影響なし")
    MINOR = "minor", _("軽微")
    MAJOR = "major", _("重大")
    CRITICAL = "critical", _("致命的")


class State(models.TextChoices):
    INVESTIGATING = "investigating", _("調査中")
    IDENTIFIED = "identified", _("原因特定")
    MONITORING = "monitoring", _("経過観察")
    RESOLVED = "resolved", _("解決")


class Scope(models.TextChoices):
    ALL = "all", _("全企業")
    CHOSEN = "chosen", _("選択した企業")
    DETECTED = "detected", _("検知による")


class Visibility(models.TextChoices):
    DRAFT = "draft", _("下書き")
    TENANTS = "tenants", _("影響を受ける企業のみ")
    PUBLIC = "public", _("公開")


class Source(models.TextChoices):
    MANUAL = "manual", _("サポート担当")
    WATCHDOG = "watchdog", _("監視")
    SENTRY = "sentry", _("Sentry")
    LEAK = "leak", _("漏えい検知")


class Incident(models.Model):
    title = models.CharField(_("件名"), max_length=200)
    title_en = models.CharField(_("件名（英語）"), max_length=200, blank=True)
    impact = models.CharField(_("影響度"), max_length=10, choices=Impact.choices, default=Impact.MINOR)
    state = models.CharField(_("状態"), max_length=16, choices=State.choices, default=State.INVESTIGATING)
    scope = models.CharField(_("影響範囲"), max_length=10, choices=Scope.choices, default=Scope.ALL)
    visibility = models.CharField(
        _("公開範囲"), max_length=10, choices=Visibility.choices, default=Visibility.DRAFT
    )
    source = models.CharField(_("起票元"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    is_data_incident = models.BooleanField(_("個人データ漏えい等事案"), default=False)
    components = models.ManyToManyField(Component, blank=True, related_name="incidents")
    tenants = models.ManyToManyField("tenants.Tenant", blank=True, related_name="incidents")
    # Open detector incidents are unique per key: a flapping probe reuses its incident.
    detection_key = models.CharField(max_length=100, blank=True, default="")
    component_status = models.CharField(
        _("コンポーネントの状態"), max_length=20, choices=ComponentStatus.choices, blank=True, default=""
    )
    postmortem = models.TextField(_("事後報告（ポストモーテム）"), blank=True)
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["detection_key"],
                condition=~models.Q(detection_key="") & ~models.Q(state="resolved"),
                name="incident_one_open_per_detection_key",
            ),
            # A personal-data incident is never public: it concerns the affected companies only.
            models.CheckConstraint(
                condition=~(models.Q(is_data_incident=True) & models.Q(visibility="public")),
                name="incident_data_never_public",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title_for_reader(self) -> str:
        """The English title for a reader of English when support wrote one; the Japanese title otherwise."""
        return self.title_en if self.title_en and _reads_english() else self.title

    @property
    def is_open(self) -> bool:
        return self.state != State.RESOLVED

    @property
    def needs_phone_escalation(self) -> bool:
        return self.impact in (Impact.MAJOR, Impact.CRITICAL)


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    state = models.CharField(_("状態"), max_length=16, choices=State.choices)
    message_ja = models.TextField(_("本文"))
    message_en = models.TextField(_("本文（英語）"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    author_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.state}"

    @property
    def message_for_reader(self) -> str:
        """The English message for a reader of English when there is one; the Japanese message otherwise."""
        return self.message_en if self.message_en and _reads_english() else self.message_ja


class MessageTemplate(models.Model):
    """A reusable message for common situations (e.g. 'investigating a delay in e-mail delivery')."""

    name = models.CharField(_("テンプレート名"), max_length=100, unique=True)
    state = models.CharField(_("状態"), max_length=16, choices=State.choices)
    title = models.CharField(_("件名"), max_length=200, blank=True)
    message_ja = models.TextField(_("本文"))
    message_en = models.TextField(_("本文（英語）"), blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MaintenanceState(models.TextChoices):
    SCHEDULED = "scheduled", _("予定")
    IN_PROGRESS = "in_progress", _("実施中")
    COMPLETED = "completed", _("完了")


class Maintenance(models.Model):
    title = models.CharField(_("件名"), max_length=200)
    message_ja = models.TextField(_("内容"))
    message_en = models.TextField(_("内容（英語）"), blank=True)
    components = models.ManyToManyField(Component, blank=True, related_name="maintenances")
    scope = models.CharField(_("影響範囲"), max_length=10, choices=Scope.choices, default=Scope.ALL)
    tenants = models.ManyToManyField("tenants.Tenant", blank=True, related_name="maintenances")
    visibility = models.CharField(
        _("公開範囲"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    starts_at = models.DateTimeField(_("開始予定"))
    ends_at = models.DateTimeField(_("終了予定"))
    state = models.CharField(
        max_length=12, choices=MaintenanceState.choices, default=MaintenanceState.SCHEDULED
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="maint_ends_after"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Acknowledgement(models.Model):
    """Whether an affected company's admin has acknowledged an incident; escalations hang off it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="acknowledgements")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="incident_acks")
    notified_at = models.DateTimeField()
    renotified_at = models.DateTimeField(null=True, blank=True)
    phone_call_flagged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=254, blank=True)
    acknowledged_via = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["tenant__name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "tenant"], name="ack_one_per_incident_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.tenant_id}"


class ComponentSubscription(models.Model):
    """A recruiter (tenant-schema user id) who wants e-mail about one component."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="incident_subs")
    user_id = models.BigIntegerField()
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="subscriptions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user_id", "component"], name="sub_unique")]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.user_id}:{self.component_id}"


class StaffAuditEntry(models.Model):
    """Every support action on incidents, maintenance and leaks: who, what, when (no personal data)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=254)
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=60, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.action}"


class ProbeDay(models.Model):
    """The watchdog's probes of one component on one day: how many ran and how many failed (the uptime bars)."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="probe_days")
    day = models.DateField()
    probes = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["component", "day"]
        constraints = [
            models.UniqueConstraint(fields=["component", "day"], name="probe_day_one_per_component_day"),
            models.CheckConstraint(
                condition=models.Q(failures__lte=models.F("probes")), name="probe_day_failures_le"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component_id}:{self.day}"
