# syntax=docker/dockerfile:1
# bardo: one binary, three roles (serve, replica, replay). Multi-stage: a Rust builder makes the
# release binary; the runtime is a slim Debian with a dedicated non-root user and nothing else.
#   docker build -t bardo .          (linux/amd64, the tournament's platform)

# Both stages are linux/amd64 (an ARG rather than a constant keeps BuildKit's lint quiet).
ARG BARDO_PLATFORM=linux/amd64

FROM --platform=$BARDO_PLATFORM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The build context has no .git: `docker build --build-arg BARDO_GIT_COMMIT=$(git rev-parse --short=12 HEAD)`
# (docker-compose.yml passes it from the environment) puts the commit into `/status`.
ARG BARDO_GIT_COMMIT=unknown
# The whole workspace (see .dockerignore): Cargo needs every member's manifest and declared target.
COPY . .
# Cache mounts keep the registry and the dependency builds between image builds (BuildKit).
# The release profile keeps line tables (debug = 1); --strip-debug drops them from the image
# but keeps the symbol names for backtraces.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p bardo \
    && strip --strip-debug -o /bardo target/release/bardo

FROM --platform=$BARDO_PLATFORM debian:bookworm-slim AS runtime
# A dedicated system user: the service never runs as root. bash (already in the base image) is
# what the compose healthcheck uses (/dev/tcp), so no curl is installed.
RUN groupadd --system --gid 10001 bardo \
    && useradd --system --uid 10001 --gid bardo --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin bardo
COPY --from=build --chown=root:root --chmod=0755 /bardo /usr/local/bin/bardo
USER bardo:bardo
ENV BARDO_LISTEN=0.0.0.0:9999 \
    RUST_LOG=info
EXPOSE 9999
ENTRYPOINT ["/usr/local/bin/bardo"]
CMD ["serve"]
