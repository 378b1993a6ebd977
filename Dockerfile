# Builds the slack-manager binary; used by docker-compose.yml for the multi-instance setup.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p slack-manager

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/slack-manager /usr/local/bin/slack-manager
ENTRYPOINT ["slack-manager"]
