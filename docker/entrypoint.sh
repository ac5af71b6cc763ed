#!/bin/sh
# Entry point of the app image (web, worker, beat, register-webhook): wait for the database, migrate
# when asked to (the web service sets MIGRATE_ON_START=true), then run the command as PID 1.
set -eu
cd /app
python docker/prestart.py
exec "$@"
