"""Mails stored before sign-in links were withheld lose their links (the tokens stay valid only for the
student's own copy of the mail; each one signs in once)."""

from django.db import migrations

_WITHHELD = "［マイページのログインリンク（送信したメールにだけ記載し、保存していません）］"

_SQL = r"""
UPDATE notifications_outboxmessage
   SET body = regexp_replace(body, 'https?://[^\s]*/my/login/[A-Za-z0-9_-]+/?', %s, 'g'),
       subject = regexp_replace(subject, 'https?://[^\s]*/my/login/[A-Za-z0-9_-]+/?', %s, 'g')
 WHERE body LIKE '%%/my/login/%%' OR subject LIKE '%%/my/login/%%'
"""


def withhold(apps, schema_editor):
    schema_editor.execute(_SQL, [_WITHHELD, _WITHHELD])


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0005_season"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(withhold, migrations.RunPython.noop, elidable=True)]
