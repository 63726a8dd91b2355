# syntax=docker/dockerfile:1
# Passthru as a container image. Build:  docker build -t passthru .
# Run:    docker run -d -p 443:8443 -v $PWD/my-config.json:/etc/passthru/config.json:ro passthru
# The config lives at /etc/passthru/config.json (deploy/docker/config.json is baked in as a
# placeholder: mount yours over it, or the directory /etc/passthru). --watch reloads on a change.

# ---- build: host compiled to dist/host, every bundled detector to dist/plugins/NAME.wasm ----
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json asconfig.json ./
COPY host ./host
COPY sdk ./sdk
COPY plugins ./plugins
COPY scripts ./scripts
COPY config ./config
COPY schema ./schema
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: node, the built package and its production dependencies; runs as `node` ----
FROM node:20-slim
ENV NODE_ENV=production \
    PASSTHRU_CACHE_DIR=/var/cache/passthru
WORKDIR /opt/passthru
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/config ./config
COPY --from=build /src/schema ./schema
COPY deploy/docker/config.json /etc/passthru/config.json
# Fuel-instrument the bundled detectors now (what `check` loads is cached in $PASSTHRU_CACHE_DIR),
# so a start never loads binaryen and a read-only root filesystem costs nothing.
RUN node dist/host/cli.js check -c /etc/passthru/config.json > /dev/null \
 && chmod -R a+rX /var/cache/passthru
USER node
# 8443: the config's listener; 9090: /metrics and /healthz.
EXPOSE 8443 9090
# SIGTERM drains (open connections get --drain-timeout, 30 s): give `docker stop -t 35` or more.
STOPSIGNAL SIGTERM
# slim images have no curl: node's fetch. /healthz answers 503 while draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/passthru/dist/host/cli.js"]
CMD ["-c", "/etc/passthru/config.json", "--watch", "--metrics", "0.0.0.0:9090"]
