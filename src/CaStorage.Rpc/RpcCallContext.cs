using Microsoft.AspNetCore.Http;

namespace CaStorage.Rpc;

/// <summary>What a handler knows about its call: the method, the caller, the request headers, its cancellation.</summary>
public sealed class RpcCallContext
{
    internal RpcCallContext(HttpContext http, string method, CancellationToken cancellation)
    {
        HttpContext = http;
        Method = method;
        CancellationToken = cancellation;
    }

    /// <summary>A call relayed by another server (a cluster peer), which already authorized it: no HTTP request here.</summary>
    public RpcCallContext(string method, string relayedFor, CancellationToken cancellation)
    {
        Method = method;
        _relayedFor = relayedFor;
        CancellationToken = cancellation;
    }

    private readonly string? _relayedFor;

    /// <summary>The server's check, for the calls a multiplexed stream carries (each is checked as its own call).</summary>
    internal Action<RpcCallContext>? Authorize { get; init; }

    /// <summary>"/package.Service/Method".</summary>
    public string Method { get; }

    /// <summary>The HTTP/2 request of the call; null for a relayed call.</summary>
    public HttpContext? HttpContext { get; }

    /// <summary>Cancelled when the client goes away or the call's deadline (grpc-timeout) passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>"ADDR:PORT" of the client.</summary>
    public string Peer => HttpContext is null ? _relayedFor ?? "unknown"
        : HttpContext.Connection.RemoteIpAddress is { } ip ? $"{ip}:{HttpContext.Connection.RemotePort}" : "unknown";

    public string? GetHeader(string name) => HttpContext is not null && HttpContext.Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null;
}

/// <summary>Writes the responses of a streaming call; each write is flushed to the client at once.</summary>
public interface IServerStreamWriter<in T>
{
    ValueTask WriteAsync(T message);
}
