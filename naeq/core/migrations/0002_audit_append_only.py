"""Database triggers that refuse UPDATE and DELETE on the audit log (see naeq.core.triggers)."""

from django.db import migrations

from naeq.core.triggers import install_audit_triggers, remove_audit_triggers


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: install_audit_triggers(schema_editor.connection),
            lambda apps, schema_editor: remove_audit_triggers(schema_editor.connection),
        )
    ]
