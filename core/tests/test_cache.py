"""The cache takes keys as they come: Redis (REDIS_URL) and core.cache.LocalMemoryCache (the default) alike."""

import warnings

from django.core.cache import cache


def test_the_cache_takes_any_key_without_memcached_warnings_whichever_backend():
    key = "cover: " + "é" * 300  # a space, non-ASCII, over memcached's 250 characters
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.set(key, "value")
        assert cache.get(key) == "value"
        assert cache.get_many([key]) == {key: "value"}
