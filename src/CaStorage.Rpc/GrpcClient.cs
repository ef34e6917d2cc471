using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace CaStorage.Rpc;

/// <summary>
/// A small gRPC client on HttpClient (HTTP/2 with prior knowledge over http://, RequestVersionExact), for castorctl
/// and node-to-node calls. Responses are read to the end of the stream, after which the trailers hold grpc-status.
/// Transport failures become <see cref="RpcException"/> UNAVAILABLE with the reason, so callers print one line.
/// </summary>
public sealed class GrpcClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _bearerToken;
    private readonly MultiplexChannel _multiplex;

    /// <param name="address">Base address, e.g. http://127.0.0.1:4460.</param>
    public GrpcClient(Uri address, string? bearerToken = null, HttpMessageHandler? handler = null)
    {
        Address = address;
        _bearerToken = bearerToken;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan, // deadlines travel as grpc-timeout and cancel the call
        };
        _multiplex = new MultiplexChannel(_http, address, bearerToken);
    }

    public Uri Address { get; }

    public int MaxReceiveMessageSize { get; init; } = 64 * 1024 * 1024;

    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(MethodDescriptor method, TRequest request, TimeSpan? deadline = null,
        CancellationToken ct = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        var responses = await CallAsync<TRequest, TResponse>(method, [request], deadline, ct).ConfigureAwait(false);
        if (responses.Count != 1)
            throw new RpcException(RpcStatusCode.Internal, $"{method.FullName}: expected one response message, got {responses.Count}");
        return responses[0];
    }

    /// <summary>
    /// A unary call carried as a frame of this client's Multiplex/Exchange stream (one per server, shared by all
    /// callers), for servers that map it (<see cref="GrpcMethodTable.MapMultiplex"/>); a server without it gets the
    /// call as its own request. Failures are the same as <see cref="UnaryAsync{TRequest,TResponse}"/>'s.
    /// </summary>
    public async Task<TResponse> MultiplexedUnaryAsync<TRequest, TResponse>(MethodDescriptor method, TRequest request, TimeSpan? deadline = null,
        CancellationToken ct = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        if (_multiplex.Unsupported) return await UnaryAsync<TRequest, TResponse>(method, request, deadline, ct).ConfigureAwait(false);
        ByteString answer;
        try
        {
            answer = await _multiplex.CallAsync(GrpcMethodTable.PathOf(method), request.ToByteString(), deadline, ct).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.Status == RpcStatusCode.Unimplemented && _multiplex.Unsupported)
        {
            return await UnaryAsync<TRequest, TResponse>(method, request, deadline, ct).ConfigureAwait(false);
        }
        return GrpcFraming.Parse((MessageParser<TResponse>)method.OutputType.Parser, new ReadOnlySequence<byte>(answer.Memory));
    }

    /// <summary>
    /// A streaming call whose requests are all known up front: they are sent, the request stream is closed, and every
    /// response is collected (enough for reflection queries and batch calls).
    /// </summary>
    public async Task<IReadOnlyList<TResponse>> CallAsync<TRequest, TResponse>(MethodDescriptor method, IReadOnlyList<TRequest> requests,
        TimeSpan? deadline = null, CancellationToken ct = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        var body = new ArrayBufferWriter<byte>();
        foreach (var r in requests) GrpcFraming.WriteMessage(body, r);
        using var message = NewRequest(GrpcMethodTable.PathOf(method), new ReadOnlyMemoryContent(body.WrittenMemory), _bearerToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (deadline is { } d)
        {
            message.Headers.TryAddWithoutValidation("grpc-timeout", GrpcTimeout.Format(d));
            cts.CancelAfter(d);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new RpcException(RpcStatusCode.Unavailable, $"cannot reach {Address}: {Innermost(ex).Message}", ex);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new RpcException(RpcStatusCode.DeadlineExceeded, $"{method.FullName}: no answer from {Address} within the deadline", ex);
        }
        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
                throw new RpcException(StatusFromHttp(response.StatusCode), $"{method.FullName}: HTTP {(int)response.StatusCode} from {Address}");
            // Trailers-only: the status is in the headers and there is no body.
            if (TryGetStatus(response.Headers, out var headerStatus, out var headerMessage) && headerStatus != RpcStatusCode.OK)
                throw new RpcException(headerStatus, headerMessage);

            var payload = await ReadBodyAsync(response, cts.Token).ConfigureAwait(false);
            if (!TryGetStatus(response.TrailingHeaders, out var status, out var statusMessage)
                && !TryGetStatus(response.Headers, out status, out statusMessage))
                throw new RpcException(RpcStatusCode.Internal, $"{method.FullName}: the response carried no grpc-status");
            if (status != RpcStatusCode.OK) throw new RpcException(status, statusMessage);

            var parser = (MessageParser<TResponse>)method.OutputType.Parser;
            var results = new List<TResponse>();
            var sequence = new ReadOnlySequence<byte>(payload);
            while (GrpcFraming.TryReadMessage(ref sequence, MaxReceiveMessageSize, out var frame)) results.Add(parser.ParseFrom(frame));
            if (sequence.Length != 0) throw new RpcException(RpcStatusCode.Internal, $"{method.FullName}: the response ended inside a message");
            return results;
        }
    }

    private async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > MaxReceiveMessageSize + GrpcFraming.HeaderSize)
                    throw new RpcException(RpcStatusCode.ResourceExhausted, $"response larger than {MaxReceiveMessageSize} bytes");
                buffer.Write(chunk, 0, n);
            }
        }
        return buffer.ToArray();
    }

    /// <summary>A gRPC call's HTTP/2 request: POST to the method's path, the gRPC content type, te: trailers, the token.</summary>
    internal static HttpRequestMessage NewRequest(string path, HttpContent content, string? bearerToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("te", "trailers");
        if (bearerToken is not null) message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        return message;
    }

    internal static bool TryGetStatus(HttpHeaders headers, out RpcStatusCode status, out string message)
    {
        status = RpcStatusCode.Unknown;
        message = "";
        if (!headers.TryGetValues("grpc-status", out var values)) return false;
        var text = values.FirstOrDefault();
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            message = $"malformed grpc-status '{text}'";
            return true;
        }
        status = (RpcStatusCode)code;
        if (headers.TryGetValues("grpc-message", out var m)) message = GrpcStatusText.Decode(m.FirstOrDefault());
        return true;
    }

    /// <summary>gRPC's HTTP-to-status mapping (doc/http-grpc-status-mapping.md).</summary>
    private static RpcStatusCode StatusFromHttp(HttpStatusCode code) => (int)code switch
    {
        400 => RpcStatusCode.Internal,
        401 => RpcStatusCode.Unauthenticated,
        403 => RpcStatusCode.PermissionDenied,
        404 => RpcStatusCode.Unimplemented,
        429 or 502 or 503 or 504 => RpcStatusCode.Unavailable,
        _ => RpcStatusCode.Unknown,
    };

    internal static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is { } inner) ex = inner;
        return ex;
    }

    public void Dispose()
    {
        _multiplex.Dispose();
        _http.Dispose();
    }
}
