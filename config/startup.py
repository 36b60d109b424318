"""What the serving processes refuse to start with: the web application (config.wsgi, also what
runserver loads) and the Celery worker and beat (config.celery) do not run on the development
secret key without DEBUG, since anyone can sign sessions and tokens with a key that is in the
repository. `manage.py check` warns about it (config.W001); other commands still run."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

MESSAGE = "DJANGO_SECRET_KEY must be set (the development key is for DJANGO_DEBUG=true only)"


def refuse_development_key() -> None:
    if getattr(settings, "DEV_SECRET_KEY_REFUSED", False):
        raise ImproperlyConfigured(MESSAGE)


@checks.register(checks.Tags.security, deploy=False)
def development_key_check(app_configs=None, **kwargs):
    if getattr(settings, "DEV_SECRET_KEY_REFUSED", False):
        return [checks.Warning(MESSAGE, hint="Set DJANGO_SECRET_KEY; serving refuses to start.", id="config.W001")]
    return []
