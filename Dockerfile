# syntax=docker/dockerfile:1
# Relay image: build with dev dependencies, ship production dependencies and dist/ only.
#   docker build -t relay .
#   docker run -p 8080:8080 -e REDIS_URL=redis://… -v ./relay.yaml:/config/relay.yaml:ro -e RELAY_CONFIG=/config/relay.yaml relay
# The Node major here is the one .ci/run also tests on (scripts/ci-node22.sh): change both together.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No lifecycle scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY channels ./channels
COPY examples ./examples
COPY bench ./bench
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY docs/relay.schema.json ./docs/relay.schema.json
COPY relay.example.yaml ./relay.example.yaml
# Files stay root-owned and read-only to the process; it writes nothing but /tmp.
USER node
# 8080: provider webhooks (publish this one, behind your ingress). 9090: ops; never publish it.
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.OPS_PORT||9090)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# `relay start` by default; `docker run IMAGE check --config …` or `… events list` run other commands.
ENTRYPOINT ["node", "/app/bin/relay.js"]
CMD ["start"]
