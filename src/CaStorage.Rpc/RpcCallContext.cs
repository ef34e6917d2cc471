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

    /// <summary>"/package.Service/Method".</summary>
    public string Method { get; }

    public HttpContext HttpContext { get; }

    /// <summary>Cancelled when the client goes away or the call's deadline (grpc-timeout) passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>"ADDR:PORT" of the client.</summary>
    public string Peer => HttpContext.Connection.RemoteIpAddress is { } ip ? $"{ip}:{HttpContext.Connection.RemotePort}" : "unknown";

    public string? GetHeader(string name) => HttpContext.Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null;
}

/// <summary>Writes the responses of a streaming call; each write is flushed to the client at once.</summary>
public interface IServerStreamWriter<in T>
{
    ValueTask WriteAsync(T message);
}
