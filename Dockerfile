# syntax=docker/dockerfile:1
# cdnprobe with Debian's Chromium: `docker build -t cdnprobe .`, then
#   docker run --rm -v "$PWD/out:/out" -e CDNPROBE_JIRA_USER -e CDNPROBE_JIRA_PASSWORD \
#     cdnprobe run https://jira.example.com --scenario /opt/cdnprobe/scenarios/jira-smoke.toml --out /out
# `docker run --rm cdnprobe` alone runs the default job: the embedded lab, both journeys.
# See deploy/README.md (probing from several places) and bench/README.md (figures).

# --- build: the release binary -------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY scenarios ./scenarios
# The registry and target/ live in BuildKit caches, so a source change rebuilds only the crate.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin cdnprobe \
 && install -m 0755 target/release/cdnprobe /usr/local/bin/cdnprobe

# --- run: Debian, Chromium, the binary, a non-root user -------------------------------------
FROM debian:bookworm-slim
# chromium: the browser cdnprobe drives (nothing is downloaded at run time); fonts so pages lay
# out as they do for users; ca-certificates for TLS to the probed site (TLS problems are findings).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ca-certificates fonts-liberation tini \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin cdnprobe \
 && mkdir -p /out && chown cdnprobe:cdnprobe /out
COPY --from=build /usr/local/bin/cdnprobe /usr/local/bin/cdnprobe
COPY scenarios /opt/cdnprobe/scenarios
ENV CHROME=/usr/bin/chromium
# Numeric, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 10001:10001
# Without --out, runs land in /out/output/<UTC timestamp>-<host>/: mount a volume on /out.
WORKDIR /out
# tini reaps Chromium's helper processes and forwards signals. cdnprobe handles SIGINT (Ctrl-C):
# it writes the partial report and closes Chromium. `docker stop` and Kubernetes send the image's
# stop signal, so make that SIGINT rather than SIGTERM.
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/bin/tini", "--", "cdnprobe"]
CMD ["run"]
