# syntax=docker/dockerfile:1
# The examlake image: used by the `ingest` and `nightly` services of docker-compose.yml.
#
#   docker build -t examlake .          (or: docker compose build)
#
# Stage 1 compiles the CLI; the first build compiles Polars and takes a while (about 20 minutes
# on 2 cores). The BuildKit cache mounts keep the cargo registry and target/ between builds.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Only what the build needs (see .dockerignore): the workspace, its lock file, and queries/
# (the canned report SQL is compiled in with include_str!).
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY queries queries
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p examlake-cli \
    && install -m 0755 target/release/examlake /usr/local/bin/examlake

# Stage 2: a small runtime with only the binary (no system libraries beyond glibc are needed:
# fonts for the charts are compiled in).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 examlake \
    && useradd --system --uid 10001 --gid examlake --home-dir /var/lib/examlake --create-home examlake \
    && mkdir -p /drop /warehouse /reports \
    && chown examlake:examlake /drop /warehouse /reports
COPY --from=build /usr/local/bin/examlake /usr/local/bin/examlake
# The bundled sample data, for `examlake demo --sample-dir /usr/share/examlake/sample`.
COPY data/sample /usr/share/examlake/sample
USER examlake
WORKDIR /var/lib/examlake
# Named volumes mounted on these paths start with the ownership set above.
VOLUME ["/drop", "/warehouse", "/reports"]
CMD ["examlake", "--help"]
