# syntax=docker/dockerfile:1
# Open-AutoGLM: `docker build -t open-autoglm .` — see README "Deploy, back up, restore".
# Debian (glibc), not Alpine: the prebuilt native modules (better-sqlite3, @node-rs/argon2) are
# glibc builds, and a source build of better-sqlite3 falls back to the toolchain below.
ARG NODE_IMAGE=node:20-bookworm-slim

# 0. The toolchain node-gyp needs when a native module has no prebuilt binary for this platform.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*

# 1. Build: every dependency (TypeScript), compile to dist/.
FROM toolchain AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

# 2. Production dependencies only, native modules built for this image's Node and libc.
FROM toolchain AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  && node -e "require('better-sqlite3')(':memory:').prepare('select 1').get(); require('@node-rs/argon2')" \
  && npm cache clean --force

# 3. Runtime: no compiler, no dev dependencies, not root.
FROM ${NODE_IMAGE} AS runtime
ENV AUTOGLM_HOST=0.0.0.0 \
  AUTOGLM_PORT=8787
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
# The node image's unprivileged user (uid 1000). data/ holds the SQLite file, its master key and
# the first admin key when no volume is mounted; mount a volume there to keep them.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 8787
# Liveness only (/healthz): the orchestrator's readiness probe is /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.AUTOGLM_PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node itself gets SIGTERM (no shell in between) and drains before it exits.
ENTRYPOINT ["node", "bin/autoglm.js"]
CMD ["serve"]
