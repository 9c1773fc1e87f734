# syntax=docker/dockerfile:1
# The production image: built in one stage, run from a second that holds only the production
# dependencies, the build output and the migrations, as the unprivileged `node` user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
# The app, then the command-line tools: the migration job (build/cli/migrate.js), the
# operator's first administrator (build/cli/bootstrap.js) and the audit log's verification
# (build/cli/audit-verify.js).
RUN npm run build && npx vite build --config vite.cli.config.ts

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No dependency of the running app needs an install script (prebuilt binaries come as
# optional packages), and the project's own `prepare` needs the dev tools.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
	PORT=3000 \
	HOST=0.0.0.0 \
	BODY_SIZE_LIMIT=Infinity \
	DATA_DIR=/var/lib/intranet
WORKDIR /app
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/build ./build
COPY --from=build /app/drizzle ./drizzle
COPY --from=build /app/server.js ./server.js
# The app keeps no state of its own; DATA_DIR only has to exist and be writable.
RUN mkdir -p /var/lib/intranet && chown node:node /var/lib/intranet
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
	CMD ["node", "-e", "fetch('http://127.0.0.1:3000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# adapter-node's server with upload-sized request timeouts (see server.js).
CMD ["node", "server.js"]
