"""Database triggers that refuse UPDATE and DELETE of custody events (see naeq.custody.triggers)."""

from django.db import migrations

from naeq.custody.triggers import install_custody_triggers, remove_custody_triggers


class Migration(migrations.Migration):
    dependencies = [("custody", "0001_initial")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: install_custody_triggers(schema_editor.connection),
            lambda apps, schema_editor: remove_custody_triggers(schema_editor.connection),
        )
    ]
