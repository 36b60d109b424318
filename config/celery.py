"""The Celery application: Redis in production, the embedded broker by default.

The worker and beat log as the web does (settings.LOGGING): a receiver of `setup_logging` keeps
Celery from installing its own root handler and format, so each line is written once, as JSON in
production. A task's lines carry its id and name and the request_id of the web request that
queued it (sent along as a message header).
"""

import logging.config
import os

from celery import Celery, signals

from catalog.core import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["sharing.notify"])  # delivery's tasks (named sharing.tasks.*)

REQUEST_ID_HEADER = "gdpd_request_id"


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_development_key(**kwargs):
    """The worker and beat do not start on the development secret key without DEBUG."""
    from .startup import refuse_development_key

    refuse_development_key()


@signals.setup_logging.connect
def configure_logging(loglevel=None, **kwargs):
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:  # the command line's --loglevel
        logging.getLogger().setLevel(loglevel)


@signals.before_task_publish.connect
def carry_request_id(headers=None, **kwargs):
    request_id = logs.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def bind_task(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or ""
    task.request.log_token = logs.bind(task_id=task_id, task_name=task.name, request_id=request_id)


@signals.task_postrun.connect
def unbind_task(task=None, **kwargs):
    token = getattr(task.request, "log_token", None)
    if token is not None:
        try:
            logs.unbind(token)
        except ValueError:  # set in another context (a pool that ran prerun elsewhere): nothing bound here
            pass
