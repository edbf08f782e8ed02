# Touchpoint in a container: a static binary (pure Go, no cgo) on distroless,
# run as the image's non-root user (65532), with its data in the /data volume.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t touchpoint .
#   docker run -p 8080:8080 -v touchpoint-data:/data touchpoint
#
# The admin token is printed once, on the first start: see "docker logs".
# CLI verbs run in place of the server: docker run --rm touchpoint version

FROM golang:1.26 AS build
WORKDIR /src
# The modules first, so that a change to the code reuses their layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/touchpoint ./cmd/touchpoint \
    && mkdir -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/touchpoint /usr/local/bin/touchpoint
# An empty /data owned by the non-root user: a new named volume takes its
# owner from it, so the server can write there (it keeps the dir 0700).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/touchpoint"]
CMD ["serve", "--addr", ":8080", "--data-dir", "/data"]
