from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`?page=N&page_size=M`: a page past the end is 404 (DRF); a `page_size` that is not a whole number from 1
    is 400, one over API_MAX_PAGE_SIZE is capped."""

    page_size = settings.PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError(
                {"detail": f"page_size must be a whole number from 1, not {raw[:40]!r}."}
            ) from None
        if size < 1:
            raise ValidationError({"detail": f"page_size must be a whole number from 1, not {size}."})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Results per page, from 1 (over {self.max_page_size} is capped)."
        return parameters
