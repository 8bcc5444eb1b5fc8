# syntax=docker/dockerfile:1
# Multi-stage build of the `fleet` and `fleetctl` binaries into a small non-root image.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p fleet -p fleetctl \
    && install -D target/release/fleet /out/fleet \
    && install -D target/release/fleetctl /out/fleetctl

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/fleet /usr/local/bin/fleet
COPY --from=build /out/fleetctl /usr/local/bin/fleetctl
USER nonroot:nonroot
ENV FLEET_LOG_FORMAT=json
# Each role overrides the probe target; the gateway's is the default.
HEALTHCHECK --interval=10s --timeout=4s --retries=3 \
    CMD ["/usr/local/bin/fleet", "healthcheck", "--grpc", "http://127.0.0.1:50051"]
ENTRYPOINT ["/usr/local/bin/fleet"]
CMD ["--help"]
