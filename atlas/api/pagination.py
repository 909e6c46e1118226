from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination on every list: stable under inserts, no OFFSET scans on deep pages."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "id"
