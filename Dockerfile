# DevSys server image. BASE_IMAGE is node:20-bookworm-slim, or where no container registry is
# reachable local/node:20-bookworm, made from the host's Node.js by
# runner/docker/build-node-base.sh (see README, "Container").
ARG BASE_IMAGE=node:20-bookworm-slim

# package.json without its scripts, so that editing a script does not invalidate the
# dependency layer below (the slow one).
FROM ${BASE_IMAGE} AS manifest
COPY package.json /in/
RUN mkdir /out && node -e "const p = require('/in/package.json'); delete p.scripts; \
      require('fs').writeFileSync('/out/package.json', JSON.stringify(p, null, 2) + '\n')"

# Production dependencies. better-sqlite3 compiles from source (python3, make, g++); only
# node_modules leaves this stage, so the toolchain stays out of the image.
FROM ${BASE_IMAGE} AS deps
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=manifest /out/package.json ./
COPY package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund --loglevel=error

FROM ${BASE_IMAGE}
# git clones task repositories.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# The server may write only /data. Probot's registration page saves the new app's credentials to
# .env in the working directory: that is a link into /data, so they land on the data volume,
# where `process.loadEnvFile()` finds them at the next start.
RUN mkdir -p /data /app && chown node:node /data && ln -s /data/.env /app/.env
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json app.yml ./
COPY specs ./specs
COPY runner ./runner
COPY src ./src

VOLUME ["/data"]
EXPOSE 3000
USER node
# Asks the manager API from inside the container: a loopback caller, which needs the token only
# when MANAGER_API_TOKEN is set.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:' + process.env.PORT + '/api/health', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
# Node itself is PID 1 (no npx or tsx CLI in between), so `docker stop`'s SIGTERM reaches
# DevSys's own handler, which stops the server and the worker cleanly.
CMD ["node", "--import", "tsx", "src/main.ts"]
