"""Starter templates and an inactive step-mail sequence for every company (recruiters edit or delete them)."""

from django.db import migrations

TEMPLATES = [
    (
        "エントリー御礼",
        "【{{ 会社名 }}】エントリーありがとうございます",
        "{{ 姓 }} {{ 名 }} 様\n\n{{ 会社名 }} 新卒採用担当です。エントリーいただきありがとうございます。\n"
        "会社説明会の日程はマイページからご確認・ご予約いただけます。\n\n{{ マイページURL }}\n",
    ),
    (
        "説明会予約のお願い",
        "【{{ 会社名 }}】会社説明会のご予約はお済みですか",
        "{{ 姓 }} {{ 名 }} 様\n\n会社説明会の席に限りがあります。ご都合のよい日程をマイページからお選びください。\n\n"
        "{{ マイページURL }}\n",
    ),
    (
        "説明会前日のご案内",
        "【{{ 会社名 }}】明日の{{ 説明会名 }}について",
        "{{ 姓 }} {{ 名 }} 様\n\n明日 {{ 日時 }} の{{ 説明会名 }}にご予約いただいています。\n"
        "変更・キャンセルはマイページからお願いします。\n\n{{ マイページURL }}\n",
    ),
]


def create(apps, schema_editor):
    MailTemplate = apps.get_model("notifications", "MailTemplate")
    Sequence = apps.get_model("notifications", "Sequence")
    SequenceStep = apps.get_model("notifications", "SequenceStep")
    made = {name: MailTemplate.objects.create(name=name, subject=subject, body=body) for name, subject, body in TEMPLATES}
    welcome = Sequence.objects.create(
        name="エントリー後フォロー（サンプル）", trigger="entry_imported", is_active=False, stop_on_booked=True
    )
    SequenceStep.objects.create(sequence=welcome, position=1, template=made["エントリー御礼"])
    SequenceStep.objects.create(
        sequence=welcome,
        position=2,
        template=made["説明会予約のお願い"],
        delay_days=3,
        send_at_time="10:00",
        require_not_booked=True,
    )
    reminder = Sequence.objects.create(
        name="説明会前日リマインド（サンプル）", trigger="before_slot", days_before=1, is_active=False
    )
    SequenceStep.objects.create(sequence=reminder, position=1, template=made["説明会前日のご案内"])


def remove(apps, schema_editor):
    apps.get_model("notifications", "Sequence").objects.filter(name__endswith="（サンプル）").delete()
    apps.get_model("notifications", "MailTemplate").objects.filter(name__in=[t[0] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_step_boards_tags")]

    operations = [migrations.RunPython(create, remove)]
