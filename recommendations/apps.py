import sys

from django.apps import AppConfig
from django.conf import settings

# Processes that serve requests; every other management command (migrate, train, ...) skips preloading.
SERVING_COMMANDS = {"runserver"}


def is_serving_process(argv: list[str]) -> bool:
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    if "gunicorn" in program:
        return True
    return len(argv) > 1 and program.endswith("manage.py") and argv[1] in SERVING_COMMANDS


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        if settings.MODEL_PRELOAD and is_serving_process(sys.argv):
            from .model_store import model_store

            model_store.load()
