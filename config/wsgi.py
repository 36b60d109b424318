import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from .startup import refuse_development_key  # noqa: E402 - reads the settings loaded above

refuse_development_key()

from sharing.gateway import GatewayWSGI  # noqa: E402 - needs the apps loaded above

from .metrics import MetricsWSGI  # noqa: E402

# The exchange gateway's warm grants checks are answered in front of Django's request handling;
# MetricsWSGI counts and logs those (Django's own requests are counted by its middleware).
application = MetricsWSGI(GatewayWSGI(django_application))
