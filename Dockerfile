# Multi-stage build: compile with the Swift toolchain image, run on a slim Debian image
# with only the runtime libraries. See docs/deployment.md.
ARG SWIFT_IMAGE=swift:6.1-bookworm
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcurl4-openssl-dev zlib1g-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies in their own layer so source edits do not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --product unfold --static-swift-stdlib \
 && install -D .build/release/unfold /out/unfold

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcurl4 zlib1g libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/unfold --create-home unfold
COPY --from=build /out/unfold /usr/local/bin/unfold
COPY Config/unfold.json /etc/unfold/unfold.json
ENV UNFOLD_CONFIG=/etc/unfold/unfold.json \
    UNFOLD_HOST=0.0.0.0
USER unfold
WORKDIR /var/lib/unfold
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/unfold"]
CMD ["serve"]
