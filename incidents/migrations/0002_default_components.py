from django.db import migrations

COMPONENTS = [
    ("web", "Web（採用管理画面）", "Web app", False),
    ("mypage", "マイページ・説明会予約", "My Page and booking", True),
    ("live", "リアルタイム更新", "Live updates", False),
    ("email", "メール配信", "E-mail delivery", False),
    ("import", "求人サイト取り込み", "Job-board import", False),
    ("jobs", "バックグラウンド処理", "Background jobs", False),
]
TEMPLATES = [
    ("調査開始", "investigating", "現在、{component}で不具合が発生しており、原因を調査しています。ご迷惑をおかけし申し訳ございません。", "We are investigating an issue affecting {component}."),
    ("原因特定", "identified", "原因を特定し、復旧作業を行っています。", "The cause has been identified and a fix is being implemented."),
    ("経過観察", "monitoring", "復旧措置を実施しました。現在、経過を観察しています。", "A fix has been implemented and we are monitoring the results."),
    ("解決", "resolved", "本件は解決しました。ご不便をおかけしましたことをお詫び申し上げます。", "This incident has been resolved."),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Component = apps.get_model("incidents", "Component")
    MessageTemplate = apps.get_model("incidents", "MessageTemplate")
    for position, (slug, name, name_en, booking) in enumerate(COMPONENTS):
        Component.objects.get_or_create(
            slug=slug, defaults={"name": name, "name_en": name_en, "position": position, "affects_booking": booking}
        )
    for name, state, ja, en in TEMPLATES:
        MessageTemplate.objects.get_or_create(name=name, defaults={"state": state, "message_ja": ja, "message_en": en})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
