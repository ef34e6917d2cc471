using System.Net;
using System.Reflection;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CaStorage.Admin;
using CaStorage.Rpc;
using CaStorage.Rpc.Services;
using CaStorage.Server.Configuration;
using CaStorage.Smb.Server;
using CaStorage.State.Inspection;
using CaStorage.Vfs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CaStorage.Server;

/// <summary>
/// The admin port of a node: where it listens (decided before anything starts, with the rule that a non-loopback
/// admin address needs a token or mutual TLS), and the gRPC services and metrics endpoint behind it. Each admin listener is a
/// small Kestrel host of its own, started after the SMB endpoints: a listener that cannot bind its default port
/// (several nodes on one machine, test runs in parallel) is skipped with a warning instead of failing the node.
/// An address given explicitly must bind, or the node does not start.
/// </summary>
internal sealed class AdminComposition : IAsyncDisposable
{
    private readonly List<WebApplication> _hosts = [];

    private AdminComposition(Listener? grpc, Listener? metrics, string? token, AdminTls? tls)
    {
        Grpc = grpc;
        Metrics = metrics;
        Token = token;
        Tls = tls;
    }

    /// <summary>The gRPC listener's certificate, and the CAs of its clients when mutual TLS is on.</summary>
    private sealed record AdminTls(X509Certificate2 Certificate, PemTrust? ClientCa);

    private sealed record Listener(IPEndPoint EndPoint, bool Explicit);

    private Listener? Grpc { get; }
    private Listener? Metrics { get; }
    private string? Token { get; }
    private AdminTls? Tls { get; }

    public static AdminComposition Plan(CaStorageOptions options)
    {
        var a = options.Admin;
        var token = string.IsNullOrEmpty(a.Token) ? null : a.Token;
        var grpc = Resolve("Admin:Listen", a.Listen, AdminOptions.DefaultListen);
        var metrics = Resolve("Admin:MetricsListen", a.MetricsListen, AdminOptions.DefaultMetricsListen);
        var tls = LoadTls(a.Tls);
        if (grpc is not null && !IPAddress.IsLoopback(grpc.EndPoint.Address) && token is null && tls?.ClientCa is null)
            throw new ConfigurationException($"the admin API would listen on {grpc.EndPoint}, which is not a loopback address: set CaStorage:Admin:Token " +
                "(environment CaStorage__Admin__Token) or mutual TLS (Admin:Tls:Certificate, Key and ClientCa) so that callers must authenticate, " +
                "or listen on 127.0.0.1");
        if (metrics is not null && a.MetricsRequireToken && token is null)
            throw new ConfigurationException("Admin:MetricsRequireToken is set but Admin:Token is empty");
        if (grpc is not null && metrics is not null && grpc.EndPoint.Port == metrics.EndPoint.Port)
            throw new ConfigurationException($"Admin:Listen and Admin:MetricsListen use the same port {grpc.EndPoint.Port}");
        return new AdminComposition(grpc, metrics, token, tls);
    }

    private static AdminTls? LoadTls(AdminTlsOptions o)
    {
        if (string.IsNullOrEmpty(o.Certificate))
        {
            if (!string.IsNullOrEmpty(o.Key) || !string.IsNullOrEmpty(o.ClientCa))
                throw new ConfigurationException("Admin:Tls:Key and Admin:Tls:ClientCa need Admin:Tls:Certificate");
            return null;
        }
        try
        {
            return new AdminTls(PemTrust.LoadCertificate(o.Certificate, o.Key),
                string.IsNullOrEmpty(o.ClientCa) ? null : PemTrust.FromFile(o.ClientCa));
        }
        catch (ArgumentException ex)
        {
            throw new ConfigurationException($"Admin:Tls: {ex.Message}");
        }
    }

    private static Listener? Resolve(string key, string? configured, string fallback)
    {
        if (configured is null) return new Listener(IPEndPoint.Parse(fallback), Explicit: false);
        if (configured.Equals("off", StringComparison.OrdinalIgnoreCase) || configured.Length == 0) return null;
        if (IPEndPoint.TryParse(configured, out var ep) && ep.Port != 0 && configured.Contains(':', StringComparison.Ordinal))
            return new Listener(ep, Explicit: true);
        throw new ConfigurationException($"{key} '{configured}' is not ADDR:PORT or \"off\"");
    }

    public async Task StartAsync(CaStorageOptions options, SmbServerContext server, VfsModuleRegistry registry, ILoggerFactory loggers,
        IReadOnlyList<string> smbEndpoints, string dataDir, IClusterInspector? cluster = null)
    {
        if (Grpc is null && Metrics is null) return;
        var log = loggers.CreateLogger("CaStorage.Admin");
        var state = server.Inspector ?? server.FileState as IFileStateInspector
            ?? throw new InvalidOperationException("the state tier does not offer inspection");
        var version = typeof(AdminComposition).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        var node = new AdminNode(options.Cluster.NodeId!, smbEndpoints,
            Grpc?.EndPoint.ToString() ?? "", server.StartTime, version);

        var health = new HealthService();
        var catalog = new ShareCatalog(server, registry, options.Shares);
        var admin = new AdminService(node, server, state, catalog, () => ConfigSettings.Flatten(options, dataDir), health, loggers) { Cluster = cluster };
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
        if (Metrics is not null) metricsOnly.Add(Metrics.EndPoint.Port);
        var endpoint = new AdminHttpEndpoint(grpc, server.MetricsRegistry, server, auth, options.Admin.MetricsRequireToken, metricsOnly);

        // gRPC without TLS is HTTP/2 with prior knowledge: Kestrel takes it only on an Http2-only endpoint; with TLS,
        // HTTP/2 is agreed by ALPN.
        if (Grpc is not null && await TryListenAsync("Admin:Listen", Grpc, HttpProtocols.Http2, endpoint.HandleAsync, log, Tls).ConfigureAwait(false))
            log.LogInformation("Admin API on {Endpoint} (gRPC over {Transport}){Auth}", Grpc.EndPoint,
                Tls is null ? "h2c" : Tls.ClientCa is null ? "TLS" : "mutual TLS", auth.RequiresToken ? ", bearer token required" : "");
        // Prometheus scrapes over HTTP/1.1.
        if (Metrics is not null && await TryListenAsync("Admin:MetricsListen", Metrics, HttpProtocols.Http1, endpoint.HandleAsync, log, tls: null).ConfigureAwait(false))
            log.LogInformation("Metrics on http://{Endpoint}/metrics", Metrics.EndPoint);
    }

    private async Task<bool> TryListenAsync(string key, Listener listener, HttpProtocols protocols, RequestDelegate handler, ILogger log, AdminTls? tls)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        // The host's own logging stays off (a failed default bind is reported below, once, without a stack trace);
        // the admin components log through the node's loggers.
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(listener.EndPoint, l =>
        {
            l.Protocols = protocols;
            if (tls is not null) l.UseHttps(https => UseTls(https, tls, log));
        }));
        var app = builder.Build();
        app.Run(handler);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException ex) when (!listener.Explicit)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            log.LogWarning("{Key}: the default {Endpoint} is not available ({Reason}); not listening. Set {Key} (or --admin/--metrics) to choose an address",
                key, listener.EndPoint, ex.Message, key);
            return false;
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ConfigurationException($"{key}: cannot listen on {listener.EndPoint}: {ex.Message}");
        }
        _hosts.Add(app);
        return true;
    }

    private static void UseTls(HttpsConnectionAdapterOptions https, AdminTls tls, ILogger log)
    {
        https.ServerCertificate = tls.Certificate;
        https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        if (tls.ClientCa is not { } clientCa) return;
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        // The platform judged the chain against the system's roots; only the configured CAs count here.
        https.ClientCertificateValidation = (certificate, chain, _) =>
        {
            if (clientCa.IsTrustedClient(certificate, chain)) return true;
            log.LogWarning("Admin TLS: refused a client certificate ({Subject}) not issued by Admin:Tls:ClientCa", certificate?.Subject ?? "none");
            return false;
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _hosts)
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        _hosts.Clear();
    }
}
