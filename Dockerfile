# The idnav hub. Node.js 24 runs the TypeScript sources directly (type stripping): there is no build
# step. The configuration is not part of the image: mount the config directory at /etc/idnav
# (read-only) and the secret files it names, e.g.
#   docker run -p 3000:3000 -v /srv/idnav/config:/etc/idnav:ro -v /srv/idnav/secrets:/run/secrets:ro idnav

# Stage 1: runtime dependencies only. The `node` development dependency is not installed: the image's
# own Node.js 24 runs the hub. Nothing of npm's cache reaches the final image.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

# Stage 2: the hub.
FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=deps /app/node_modules node_modules/
COPY package.json ./
# The hub and its adapters; .dockerignore keeps the simulators and tests out.
COPY src/ src/
COPY adapters/ adapters/

ENV NODE_ENV=production \
    IDNAV_CONFIG=/etc/idnav \
    PORT=3000

# The files stay owned by root: the hub cannot change its own code.
USER node

EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "src/main.ts"]
