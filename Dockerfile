# syntax=docker/dockerfile:1
# The image of both services: one image, two binaries (`fulfillment`, `ingest`); the Deployment
# chooses which one runs. Build from the repository root:
#   docker build -t provisioning-bridge:0.1.0 .

# Build on the toolchain rust-toolchain.toml pins. That file also lists rustfmt and clippy,
# which the image lacks, so they are added here rather than fetched behind the build's back.
# Bookworm, as the runtime stage, so the binaries find the same glibc.
FROM rust:1.95.0-bookworm AS build
RUN rustup component add rustfmt clippy
WORKDIR /src
COPY . .
# The protos compile with protox, so no protoc is needed. The cache mounts keep the registry and
# target/ between builds; the binaries are copied out because the target cache is not in the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p fulfillment -p ingest \
    && mkdir -p /out \
    && cp target/release/fulfillment target/release/ingest /out/

# The runtime: glibc and nothing else of the build. reqwest verifies Salesforce's and WHMCS's
# certificates against the system store, so the CA bundle comes along from the build stage.
FROM debian:bookworm-slim AS runtime
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/fulfillment /out/ingest /usr/local/bin/
WORKDIR /app
# A numeric user, so Kubernetes' runAsNonRoot can check it without an /etc/passwd entry; the
# manifests run as the same uid and group and mount the Secrets group-readable for it.
USER 65532:65532
EXPOSE 50051 8080
# Kubernetes probes the gRPC health service natively; the image carries no probe tool.
ENTRYPOINT ["/usr/local/bin/fulfillment"]
