from django.db import migrations, models


class Migration(migrations.Migration):
    """Tokens get a scope. Tokens made before could write, so they keep "write"; new tokens
    are read-only unless their owner asks for more."""

    dependencies = [("accounts", "0002_user_language")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "read only"), ("write", "read and write")],
                default="write",
                max_length=8,
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "read only"), ("write", "read and write")],
                default="read",
                max_length=8,
            ),
        ),
    ]
