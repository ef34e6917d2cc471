using CaStorage.Admin.V1;
using CaStorage.Rpc;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace CaStorage.Cli;

/// <summary>A connection to one node's admin port: typed calls over <see cref="GrpcClient"/>.</summary>
internal sealed class AdminConnection(GrpcClient client, TimeSpan timeout) : IDisposable
{
    private static readonly ServiceDescriptor Admin = AdminReflection.Descriptor.Services.Single(s => s.Name == "Admin");

    public Task<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request, CancellationToken ct)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse> =>
        client.UnaryAsync<TRequest, TResponse>(Admin.FindMethodByName(method), request, timeout, ct);

    public Task<TResponse> CallAsync<TRequest, TResponse>(MethodDescriptor method, TRequest request, CancellationToken ct)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse> =>
        client.UnaryAsync<TRequest, TResponse>(method, request, timeout, ct);

    /// <summary>"ADDR:PORT" or a URL; the scheme is http (cleartext HTTP/2).</summary>
    public static Uri ParseAddress(string server)
    {
        var text = server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/")
            throw new ArgumentException($"--server expects ADDR:PORT, got '{server}'");
        return uri;
    }

    public void Dispose() => client.Dispose();
}
