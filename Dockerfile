# The spammer binary in a small image, for sharded runs under Kubernetes
# (docs/deploy/kubernetes) or anywhere else:
#
#   docker build -t spammer .
#   docker run --rm spammer loadgen --rpc-url http://host.docker.internal:8545 --rate 100
#
# Build stage: the workspace's pinned toolchain major, everything from Cargo.lock.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p spammer \
 && strip target/release/spammer

# Run stage: the binary, CA certificates for https RPC URLs, no shell tools beyond Debian's.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/spammer /usr/local/bin/spammer
# Not root; report files go to a writable working directory (or --report-dir on a volume).
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["spammer"]
CMD ["--help"]
