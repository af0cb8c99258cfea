from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_interviewer_role"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("ja", "日本語"), ("en", "English")],
                default="",
                max_length=8,
                verbose_name="表示言語",
            ),
        ),
    ]
