"""Domain exceptions. Services raise these; views and the API map them to HTTP statuses."""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.extra = extra


class InvalidInput(DomainError):
    status = 400


class NotAllowed(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Throttled(DomainError):
    """Too many failed attempts (a lockout by user or by address); try again later."""

    status = 429


class PreconditionFailed(DomainError):
    status = 412


class PreconditionRequired(DomainError):
    status = 428


class MlflowUnavailable(Exception):
    """MLflow could not be reached or answered with a server error; retry later."""


class MlflowNotFound(Exception):
    """MLflow says the object does not exist."""


class MlflowRejected(Exception):
    """MLflow refused a request (4xx other than not-found)."""


class ArtifactTooLarge(Exception):
    """A model's artifacts are larger than this app accepts to download (a setting names the limit)."""

    def __init__(self, size: int, limit: int):
        super().__init__(
            f"The model's files are {size / 1e6:.1f} MB, over the limit of {limit / 1e6:.1f} MB"
            " (PACKAGE_MAX_ARTIFACT_BYTES)."
        )
        self.size, self.limit = size, limit
