using System.Net.Security;
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

    /// <summary>
    /// "ADDR:PORT" or a URL. Without a scheme: https when TLS files are given, else http (cleartext HTTP/2).
    /// </summary>
    public static Uri ParseAddress(string server, bool tls = false)
    {
        var text = server.Contains("://", StringComparison.Ordinal) ? server : (tls ? "https://" : "http://") + server;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
            throw new ArgumentException($"--server expects ADDR:PORT, got '{server}'");
        if (tls && uri.Scheme != Uri.UriSchemeHttps) throw new ArgumentException("--ca/--cert need an https:// server (or ADDR:PORT)");
        return uri;
    }

    /// <summary>
    /// The HTTP handler of a connection: over TLS the node's certificate must chain to the CA file (system roots when
    /// none is given), and castorctl presents its own certificate when the node wants mutual TLS.
    /// </summary>
    public static SocketsHttpHandler Handler(string? caFile, string? certFile, string? keyFile)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) };
        if (caFile is null && certFile is null) return handler;
        var ssl = new SslClientAuthenticationOptions { ApplicationProtocols = [SslApplicationProtocol.Http2] };
        if (caFile is not null) ssl.RemoteCertificateValidationCallback = PemTrust.FromFile(caFile).IsTrustedServer;
        if (certFile is not null) ssl.ClientCertificates = [PemTrust.LoadCertificate(certFile, keyFile)];
        handler.SslOptions = ssl;
        return handler;
    }

    public void Dispose() => client.Dispose();
}
