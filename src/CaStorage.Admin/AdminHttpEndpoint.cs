using CaStorage.Core.Metrics;
using CaStorage.Rpc;
using CaStorage.State.Inspection;
using Microsoft.AspNetCore.Http;

namespace CaStorage.Admin;

/// <summary>
/// The HTTP face of the admin port(s). GET /metrics (Prometheus text), GET /healthz (200 "ok", 503 while draining,
/// for HTTP checks such as HAProxy's and readiness probes) and GET /livez (200 while the process serves) are answered
/// on every admin listener; everything else on the gRPC
/// listener goes to the gRPC server. The metrics listener is HTTP/1.1 (what Prometheus scrapes), the gRPC listener
/// HTTP/2 only (cleartext h2c).
/// </summary>
public sealed class AdminHttpEndpoint(GrpcServer grpc, MetricsRegistry metrics, ISessionDirectory sessions, AdminAuthorizer auth,
    bool metricsRequireToken, IReadOnlySet<int> metricsOnlyPorts)
{
    public async Task HandleAsync(HttpContext http)
    {
        var path = http.Request.Path.Value;
        var isGet = HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method);
        if (isGet && path == "/metrics")
        {
            if (metricsRequireToken && !auth.IsValid(http.Request.Headers.Authorization))
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return;
            }
            http.Response.ContentType = PrometheusTextFormat.ContentType;
            await http.Response.WriteAsync(PrometheusTextFormat.Write(metrics), http.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (isGet && path == "/healthz")
        {
            http.Response.StatusCode = sessions.Draining ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
            http.Response.ContentType = "text/plain";
            await http.Response.WriteAsync(sessions.Draining ? "draining\n" : "ok\n", http.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (isGet && path == "/livez")
        {
            // Liveness: the process answers (a draining node is alive; readiness is /healthz).
            http.Response.ContentType = "text/plain";
            await http.Response.WriteAsync("ok\n", http.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (metricsOnlyPorts.Contains(http.Connection.LocalPort))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        await grpc.HandleAsync(http).ConfigureAwait(false);
    }
}
