"""Exit codes of `registry` (documented in docs/cli.md): 0 success; the others say why it did not succeed."""

OK = 0
ERROR = 1  # the API refused the request (4xx other than below), or an unexpected answer
USAGE = 2  # bad arguments (argparse's own code)
CONFIG = 3  # no URL or no token: the message names the variable to set
NETWORK = 4  # the server could not be reached (after bounded retries) or kept answering 5xx
AUTH = 5  # 401 or 403: token missing, invalid, expired or revoked, or not allowed
NOT_FOUND = 6  # 404: no such model, version, promotion or package
BLOCKED = 10  # a gate failed: the promotion is blocked (the gates' reasons are printed)
REJECTED = 11  # a signer rejected the promotion
CANCELLED = 12  # the promotion was cancelled
FAILED = 13  # MLflow refused the change (the app retries it until it succeeds or is cancelled), or a package job failed
TIMEOUT = 14  # --wait gave up after --timeout seconds; the promotion or job goes on on the server
AUDIT_BROKEN = 20  # `registry audit verify`: the chain does not verify

STATE_EXITS = {"blocked": BLOCKED, "rejected": REJECTED, "cancelled": CANCELLED, "failed": FAILED}


class CliError(Exception):
    """Ends the command with a message on stderr and an exit code."""

    def __init__(self, message: str, code: int = ERROR):
        super().__init__(message)
        self.code = code
