"""`python manage.py adduser NAME --role viewer|operator [--password P]`: create (or re-role) a user."""

from __future__ import annotations

import getpass
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from dashboard.roles import ROLES, role_groups_ensure


class Command(BaseCommand):
    help = (
        "Create a user with the viewer or operator role. Prompts for the password unless given or generated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--password", help="the password (visible in shell history; prefer the prompt)")
        group.add_argument(
            "--generate-password", action="store_true", help="generate one and print it once (for demos)"
        )
        parser.add_argument("--update", action="store_true", help="change role/password of an existing user")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        role: str = options["role"]
        User = get_user_model()
        exists = User.objects.filter(username=username).exists()
        if exists and not options["update"]:
            raise CommandError(f"user {username!r} already exists (use --update to change it)")

        generated = False
        password: str | None = options["password"]
        if options["generate_password"]:
            password, generated = secrets.token_urlsafe(12), True
        elif password is None and not exists:
            password = self._prompt()
        if password is not None and not generated:
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc

        with transaction.atomic():
            user = User.objects.get(username=username) if exists else User(username=username)
            if password is not None:
                user.set_password(password)
            user.save()
            groups = role_groups_ensure()
            user.groups.remove(*groups.values())
            user.groups.add(groups[role])

        self.stdout.write(f"{'updated' if exists else 'created'} {username} ({role})")
        if generated:
            self.stdout.write(f"password: {password}")

    def _prompt(self) -> str:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("passwords do not match")
        if not first:
            raise CommandError("an empty password is not allowed")
        return first
