# kate: build with the official Swift image, run on a slim Debian with only libssl and CA roots.
#   docker build -t kate:dev .
#   docker run --rm kate:dev resolve nginx:1.27
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
# COpenSSL is a system-library target found through pkg-config.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# KATE_ONLY keeps the kate executable and the modules it imports (Package.swift), so the build needs
# neither Tests/ nor Benchmarks/ and resolves only what kate links.
ENV KATE_ONLY=kate
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --static-swift-stdlib --product kate \
 && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/kate" /out/kate

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/kate /usr/local/bin/kate
# Numeric, so the kubelet can check runAsNonRoot; the same UID the chart sets.
USER 65532:65532
# 8443: the webhook (TLS); 8081: the kubelet probe listener the chart enables with --health-listen.
EXPOSE 8443 8081
ENTRYPOINT ["kate"]
CMD ["webhook"]
