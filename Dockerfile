# syntax=docker/dockerfile:1
#
# pacer's container image: one static binary (CGO off: the SQLite driver,
# modernc.org/sqlite, is pure Go) on Alpine, run as an unprivileged user.
# Alpine rather than scratch or distroless for two things only: CA
# certificates for HTTPS upstreams, and busybox's wget for the healthchecks
# in docker-compose.yaml.
#
#   docker build --build-arg VERSION=v1.2.3 -t pacer .
#   docker run --rm pacer version

FROM golang:1.26-alpine AS build
WORKDIR /src
# Dependencies first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
# -buildvcs=false: .dockerignore leaves .git out of the context, so there is
# no VCS to stamp; the version comes from -X main.version instead.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/pacer ./cmd/pacer

FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 pacer \
 && adduser -S -D -H -u 10001 -G pacer -h /var/lib/pacer pacer \
 && mkdir -p /var/lib/pacer && chown pacer:pacer /var/lib/pacer
COPY --from=build /out/pacer /usr/local/bin/pacer
USER 10001:10001
WORKDIR /var/lib/pacer
# serve's pages, API and /metrics (-listen); a worker's /metrics, /healthz and
# /readyz (-metrics-listen); the sandbox (-listen of pacer sandbox).
EXPOSE 8080 9464 8081
ENTRYPOINT ["/usr/local/bin/pacer"]
CMD ["help"]
