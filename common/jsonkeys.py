"""JSON object members by name, for user-supplied keys (metric names, tag keys).

Django's KeyTransform reads a digit-only key ("1", "2024") as an array index: on PostgreSQL that turns into
`jsonb -> numeric` (an error for a 40-digit key) and on both databases it never finds a member named "1".
These transforms always address the member by name."""

import json

from django.db.models.fields.json import KeyTextTransform, KeyTransform


def _sqlite_path(key: str) -> str:
    return "$." + json.dumps(key)


class DictKey(KeyTransform):
    def as_postgresql(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"({lhs} -> %s)", (*params, self.key_name)

    def as_sqlite(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        types = ",".join(repr(t) for t in connection.ops.jsonfield_datatype_values)
        sql = f"(CASE WHEN JSON_TYPE({lhs}, %s) IN ({types}) THEN JSON_TYPE({lhs}, %s) ELSE JSON_EXTRACT({lhs}, %s) END)"
        path = _sqlite_path(self.key_name)
        return sql, (*params, path, *params, path, *params, path)


class DictKeyText(KeyTextTransform):
    """The member's value as text, compared as text: KeyTransform's own lookups expect JSON on the right
    (on SQLite `= JSON_EXTRACT('risk', '$')`, which fails with "malformed JSON")."""

    def get_lookup(self, lookup_name):
        return self.output_field.get_lookup(lookup_name)

    def as_postgresql(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"({lhs} ->> %s)", (*params, self.key_name)

    def as_sqlite(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"JSON_EXTRACT({lhs}, %s)", (*params, _sqlite_path(self.key_name))
