# DevSys server image. BASE_IMAGE can point at a locally built Node 20 image when no registry
# is reachable (see README, "Container").
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}

# better-sqlite3 builds from source; git is used to clone task repositories.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund --loglevel=error
COPY app.yml ./
COPY specs ./specs
COPY src ./src
COPY runner ./runner

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
EXPOSE 3000
USER node
CMD ["npx", "tsx", "src/main.ts"]
