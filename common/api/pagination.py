from rest_framework.pagination import LimitOffsetPagination as BaseLimitOffsetPagination


class LimitOffsetPagination(BaseLimitOffsetPagination):
    """Every list is paginated: `?limit=` (at most 100) and `?offset=`."""

    default_limit = 50
    max_limit = 100
