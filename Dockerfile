# syntax=docker/dockerfile:1
#
# CaStorage node image: the server (castorage) and castorctl, on the ASP.NET Core runtime image.
#
#   docker build -t castorage .
#   docker run --rm -p 445:4450 -v castorage-data:/var/lib/castorage -v /srv/share:/srv/share \
#       -e CaStorage__Users__0__Name=alice -e CaStorage__Users__0__NtHash=<32 hex> castorage
#
# - Non-root (the runtime image's "app" user, uid 1654) and read-only root file system friendly: everything the
#   node writes is under /var/lib/castorage (state) and the share volumes; /tmp may be a tmpfs.
# - SMB listens on 4450 inside the container: a non-root process cannot bind 445, and file capabilities
#   (setcap cap_net_bind_service) do not apply under no-new-privileges (Kubernetes allowPrivilegeEscalation:
#   false). Publish it as 445 (docker -p 445:4450, the Kubernetes Service port 445, HAProxy). To bind 445 in the
#   container itself set CaStorage__Listen__0=0.0.0.0:445 and allow it with the sysctl
#   net.ipv4.ip_unprivileged_port_start=445 (a "safe" sysctl in Kubernetes) or run as root with NET_BIND_SERVICE.
# - Admin gRPC on 127.0.0.1:4460 and metrics on 0.0.0.0:4461 by default. To reach the admin port from outside the
#   container (Kubernetes gRPC probes) set CaStorage__Admin__Listen=0.0.0.0:4460 and CaStorage__Admin__Token.

ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
# Restore first, from the project files only, so source edits do not invalidate the package layer.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/CaStorage.Core/CaStorage.Core.csproj src/CaStorage.Core/
COPY src/CaStorage.Vfs/CaStorage.Vfs.csproj src/CaStorage.Vfs/
COPY src/CaStorage.State/CaStorage.State.csproj src/CaStorage.State/
COPY src/CaStorage.Smb/CaStorage.Smb.csproj src/CaStorage.Smb/
COPY src/CaStorage.Rpc/CaStorage.Rpc.csproj src/CaStorage.Rpc/
COPY src/CaStorage.Admin/CaStorage.Admin.csproj src/CaStorage.Admin/
COPY src/CaStorage.Server/CaStorage.Server.csproj src/CaStorage.Server/
COPY src/CaStorage.Cli/CaStorage.Cli.csproj src/CaStorage.Cli/
COPY proto/ proto/
RUN dotnet restore src/CaStorage.Server/CaStorage.Server.csproj \
    && dotnet restore src/CaStorage.Cli/CaStorage.Cli.csproj
COPY src/ src/
RUN dotnet publish src/CaStorage.Server/CaStorage.Server.csproj -c Release --no-restore -o /out/castorage \
    && dotnet publish src/CaStorage.Cli/CaStorage.Cli.csproj -c Release --no-restore -o /out/castorctl

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
LABEL org.opencontainers.image.title="CaStorage" \
      org.opencontainers.image.description="Clustered, continuously available SMB3 file server"
COPY --from=build /out/castorage /app/castorage
COPY --from=build /out/castorctl /app/castorctl
COPY --chmod=0755 <<'SH' /usr/local/bin/castorctl
#!/bin/sh
exec dotnet /app/castorctl/castorctl.dll "$@"
SH
RUN mkdir -p /var/lib/castorage /srv/share \
    && chown -R "$APP_UID:$APP_UID" /var/lib/castorage /srv/share
ENV CaStorage__DataDirectory=/var/lib/castorage \
    CaStorage__Listen__0=0.0.0.0:4450 \
    CaStorage__Admin__Listen=127.0.0.1:4460 \
    CaStorage__Admin__MetricsListen=0.0.0.0:4461 \
    CASTORCTL_SERVER=127.0.0.1:4460 \
    DOTNET_EnableDiagnostics=0 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
USER $APP_UID
WORKDIR /var/lib/castorage
VOLUME ["/var/lib/castorage"]
EXPOSE 4450 4460 4461
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["castorctl", "health"]
ENTRYPOINT ["dotnet", "/app/castorage/castorage.dll"]
