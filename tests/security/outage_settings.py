"""The test settings with the cache in Redis, as production has it (config/settings/test.py keeps
it in each process's memory), for the web server that tests/security/test_outages.py starts and
then takes Redis away from."""

from config.env import env
from config.settings.test import *  # noqa: F403

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_URL"),
        "KEY_PREFIX": "evalmarket",
    }
}
