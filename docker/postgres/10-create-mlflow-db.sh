#!/bin/bash
# Runs once, when the postgres volume is first initialised: a second database for the bundled MLflow
# server (the app uses POSTGRES_DB). Owned by the same role; give MLflow its own role if you prefer.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=db="${MLFLOW_DB:-mlflow}" --set=owner="$POSTGRES_USER" <<'EOSQL'
CREATE DATABASE :"db" OWNER :"owner";
EOSQL
