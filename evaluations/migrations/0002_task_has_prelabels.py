from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="has_prelabels",
            field=models.BooleanField(
                default=False,
                help_text="Set when pre-labels are imported, so a task without any costs no "
                "lookup when it is handed out or submitted.",
            ),
        ),
        migrations.RunSQL(
            "UPDATE evaluations_task SET has_prelabels = TRUE WHERE id IN "
            "(SELECT task_id FROM evaluations_prelabel)",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
