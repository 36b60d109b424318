import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from sharing.gateway import GatewayWSGI  # noqa: E402 - needs the apps loaded above

# The exchange gateway's warm grants checks are answered in front of Django's request handling.
application = GatewayWSGI(django_application)
