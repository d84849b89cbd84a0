# A stand-in for the postgres image (scripts/test-docker.sh): Debian's PostgreSQL on the debootstrap base, with the
# same POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB variables and data folder. Listens on loopback only.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/bin/sh", "/usr/local/bin/postgres-entrypoint.sh"]
