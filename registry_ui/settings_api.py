"""The OpenAPI schema's settings (drf-spectacular), apart from settings.py: fixed text, nothing from the
environment."""

SPECTACULAR_SETTINGS = {
    "TITLE": "Registry Governance API",
    "DESCRIPTION": "Governance, approvals and audit beside an MLflow Model Registry.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the error answers it can give (400, 401, 404: common/api_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.api_schema.document_error_responses",
    ],
    # Several models share these value sets; name them once so the schema has no name collisions.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "mirror.models.SyncRun.Status",
        "DriftActionEnum": [("flag", "flag"), ("revert", "revert")],
    },
}
