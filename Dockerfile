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
# UNFOLD_TARGET_CPU: the CPU the numeric kernels (UnfoldMath, training, serving) are compiled
# for. Empty (the default) detects the build machine: haswell (AVX2, FMA, BMI2, MOVBE) when it
# has them, else the compiler's baseline. An image built on an AVX2 machine and started on a
# CPU without AVX2 exits at start with a message naming the missing features (not SIGILL).
#   --build-arg UNFOLD_TARGET_CPU=x86-64-v3   AVX2 and FMA whatever the build machine has
#                                             (an image for any AVX2-era CPU)
#   --build-arg UNFOLD_TARGET_CPU=x86-64      runs on any x86-64 CPU, but training and
#                                             serving are ~8-11x slower (no FMA)
# See docs/deployment.md.
ARG UNFOLD_TARGET_CPU=
ENV UNFOLD_TARGET_CPU=${UNFOLD_TARGET_CPU}
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
