# syntax=docker/dockerfile:1
# guestgate: build with the dev dependencies, run on a slim Node 22 with production ones only,
# as the unprivileged `node` user. The app's files belong to root: the process cannot change them.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
RUN node scripts/build.mjs --force && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV HOST=0.0.0.0 \
    PORT=3000 \
    GUESTGATE_DATA_DIR=/var/lib/guestgate
WORKDIR /app
COPY --from=build /app/package.json /app/prisma.config.ts ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY config ./config
# The only place the process writes (sandbox mode's embedded database and directory).
RUN mkdir -p /var/lib/guestgate && chown node:node /var/lib/guestgate
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
