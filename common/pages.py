"""Paginating a page's rows (pages, not the API: see api_pagination.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator


def paginate(request, queryset, per_page: int | None = None):
    """A page of results (settings.PAGE_SIZE rows unless `per_page`); garbage or out-of-range page numbers fall
    back to the first or last page."""
    paginator = Paginator(queryset, per_page or settings.PAGE_SIZE)
    number = request.GET.get("page") or 1
    try:
        return paginator.page(number)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)
