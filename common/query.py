"""Query-string values read strictly: a value the schema would not allow is a 400, not a silent default."""

from common.errors import InvalidInput

TRUE = {"1", "true", "yes"}
FALSE = {"0", "false", "no"}


def query_flag(params, name: str, default: bool = False) -> bool:
    """`?name=true|false` (also 1/0, yes/no, any case); absent or empty is the default; anything else is 400."""
    raw = (params.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false, not {raw[:40]!r}.", field=name)
