using System.Net;
using System.Net.Sockets;
using System.Reflection;
using CaStorage.Admin;
using CaStorage.Rpc;
using CaStorage.Rpc.Services;
using CaStorage.Server.Configuration;
using CaStorage.Smb.Server;
using CaStorage.State.Inspection;
using CaStorage.Vfs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CaStorage.Server;

/// <summary>
/// The admin port of a node: where it listens (decided before Kestrel starts, with the security rule that a
/// non-loopback admin address needs a token), and the gRPC services and metrics endpoint behind it.
/// </summary>
internal sealed class AdminComposition
{
    private AdminComposition(IPEndPoint? grpc, IPEndPoint? metrics, string? token)
    {
        Grpc = grpc;
        Metrics = metrics;
        Token = token;
    }

    public IPEndPoint? Grpc { get; }
    public IPEndPoint? Metrics { get; }
    private string? Token { get; }

    public static AdminComposition Plan(CaStorageOptions options, ILogger log)
    {
        var a = options.Admin;
        var token = string.IsNullOrEmpty(a.Token) ? null : a.Token;
        var grpc = Resolve("Admin:Listen", a.Listen, AdminOptions.DefaultListen, log);
        var metrics = Resolve("Admin:MetricsListen", a.MetricsListen, AdminOptions.DefaultMetricsListen, log);
        if (grpc is not null && !IPAddress.IsLoopback(grpc.Address) && token is null)
            throw new ConfigurationException($"the admin API would listen on {grpc}, which is not a loopback address: set CaStorage:Admin:Token " +
                "(environment CaStorage__Admin__Token) so that callers must authenticate, or listen on 127.0.0.1");
        if (metrics is not null && a.MetricsRequireToken && token is null)
            throw new ConfigurationException("Admin:MetricsRequireToken is set but Admin:Token is empty");
        if (grpc is not null && metrics is not null && grpc.Port == metrics.Port)
            throw new ConfigurationException($"Admin:Listen and Admin:MetricsListen use the same port {grpc.Port}");
        return new AdminComposition(grpc, metrics, token);
    }

    /// <summary>
    /// An explicit address must be valid (and must bind, or the node does not start). The default is taken only when
    /// its port is free: several nodes on one machine (tests, a local cluster) must not fail over the default port.
    /// </summary>
    private static IPEndPoint? Resolve(string key, string? configured, string fallback, ILogger log)
    {
        if (configured is not null)
        {
            if (configured.Equals("off", StringComparison.OrdinalIgnoreCase) || configured.Length == 0) return null;
            if (IPEndPoint.TryParse(configured, out var ep) && ep.Port != 0 && configured.Contains(':', StringComparison.Ordinal)) return ep;
            throw new ConfigurationException($"{key} '{configured}' is not ADDR:PORT or \"off\"");
        }
        var def = IPEndPoint.Parse(fallback);
        if (IsFree(def)) return def;
        log.LogWarning("{Key}: the default {Endpoint} is in use (another node on this machine?); not listening. Set {Key} to choose an address", key, def, key);
        return null;
    }

    private static bool IsFree(IPEndPoint ep)
    {
        try
        {
            using var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            // As Kestrel binds: SO_REUSEADDR, so connections of a previous run in TIME_WAIT do not count as "in use".
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.Bind(ep);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void ConfigureKestrel(KestrelServerOptions k)
    {
        // gRPC without TLS is HTTP/2 with prior knowledge: Kestrel takes it only on an Http2-only endpoint.
        if (Grpc is not null) k.Listen(Grpc, l => l.Protocols = HttpProtocols.Http2);
        // Prometheus scrapes over HTTP/1.1.
        if (Metrics is not null) k.Listen(Metrics, l => l.Protocols = HttpProtocols.Http1);
    }

    public void Compose(WebApplication app, CaStorageOptions options, SmbServerContext server, IReadOnlyList<string> smbEndpoints, string dataDir)
    {
        if (Grpc is null && Metrics is null) return;
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var log = loggers.CreateLogger("CaStorage.Admin");
        var state = server.FileState as IFileStateInspector
            ?? throw new InvalidOperationException("the state tier does not offer inspection");
        var version = typeof(AdminComposition).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        var node = new AdminNode(options.Cluster.NodeId is { Length: > 0 } id ? id : Environment.MachineName, smbEndpoints,
            Grpc?.ToString() ?? "", server.StartTime, version);

        var health = new HealthService();
        var catalog = new ShareCatalog(server, app.Services.GetRequiredService<VfsModuleRegistry>(), options.Shares);
        var admin = new AdminService(node, server, state, catalog, () => ConfigSettings.Flatten(options, dataDir), health, loggers);
        var table = new GrpcMethodTable();
        admin.MapTo(table);
        health.MapTo(table);
        new ReflectionService(table).MapTo(table);

        var auth = new AdminAuthorizer(Token);
        var grpc = new GrpcServer(table, loggers)
        {
            Authorize = call =>
            {
                try
                {
                    auth.Authorize(call);
                }
                catch (RpcException ex)
                {
                    log.LogWarning("Admin call {Method} from {Peer} refused: {Reason}", call.Method, call.Peer, ex.Message);
                    throw;
                }
            },
        };
        var metricsOnly = new HashSet<int>();
        if (Metrics is not null) metricsOnly.Add(Metrics.Port);
        var endpoint = new AdminHttpEndpoint(grpc, server.MetricsRegistry, server, auth, options.Admin.MetricsRequireToken, metricsOnly);
        app.Run(endpoint.HandleAsync);
        if (Grpc is not null) log.LogInformation("Admin API on {Endpoint} (gRPC over h2c){Auth}", Grpc, auth.RequiresToken ? ", bearer token required" : "");
        if (Metrics is not null) log.LogInformation("Metrics on http://{Endpoint}/metrics", Metrics);
    }
}
