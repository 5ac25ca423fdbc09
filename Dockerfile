# sandboxd on Debian 12.  The daemon manages namespaces and processes, so
# run the container privileged, e.g.:
#   docker build -t sandboxd . && docker run --privileged --pid=host sandboxd
FROM debian:12
COPY . /src/sandboxd
WORKDIR /src/sandboxd
RUN scripts/deps.sh \
 && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build -j"$(nproc)" \
 && cmake --install build \
 && rm -rf build
VOLUME ["/var/lib/sandboxd", "/run/sandboxd"]
ENTRYPOINT ["/usr/local/sbin/sandboxd", "--foreground"]
