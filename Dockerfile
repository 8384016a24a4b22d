# syntax=docker/dockerfile:1
# Build: docker build -t flagbot .
# Run:   docker run --rm -e SLACK_APP_TOKEN=xapp-... -e SLACK_BOT_TOKEN=xoxb-... -p 8080:8080 flagbot
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/flagbot ./cmd/bot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flagbot /flagbot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/flagbot"]
