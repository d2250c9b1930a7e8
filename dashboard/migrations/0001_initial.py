from __future__ import annotations

from typing import Any

from django.db import migrations, models


def create_groups(apps: Any, schema_editor: Any) -> None:
    # The permission may not exist yet: post_migrate creates permissions only after every migration ran.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="dashboard", model="clusteraccess")
    operate, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="operate_cluster",
        defaults={"name": "Can change cluster objects (scale, switch, apply)"},
    )
    Group.objects.get_or_create(name="viewer")
    operator, _ = Group.objects.get_or_create(name="operator")
    operator.permissions.add(operate)


def remove_groups(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=["viewer", "operator"]).delete()


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClusterAccess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                )
            ],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [("operate_cluster", "Can change cluster objects (scale, switch, apply)")],
            },
        ),
        migrations.RunPython(create_groups, remove_groups),
    ]
