using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace CaStorage.Rpc;

/// <summary>
/// Serves a <see cref="GrpcMethodTable"/> on a Kestrel HTTP/2 endpoint in the standard gRPC wire format, written by
/// hand because Grpc.AspNetCore cannot be restored here (grpc-dotnet's server call handlers are the model):
/// POST /package.Service/Method, content-type application/grpc, length-prefixed messages, and the status in the
/// grpc-status / grpc-message trailers, or in the headers of a trailers-only response when no message was sent.
/// </summary>
public sealed partial class GrpcServer(GrpcMethodTable methods, ILoggerFactory loggers)
{
    private readonly ILogger _log = loggers.CreateLogger("CaStorage.Rpc.Server");

    public int MaxReceiveMessageSize { get; init; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>
    /// Called before every method runs: throw <see cref="RpcException"/> (UNAUTHENTICATED, PERMISSION_DENIED) to
    /// refuse the call. Unknown methods are answered UNIMPLEMENTED without calling it.
    /// </summary>
    public Action<RpcCallContext>? Authorize { get; init; }

    public async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        var response = http.Response;
        if (!HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (!IsGrpcContentType(request.ContentType))
        {
            // gRPC over HTTP/2: a request without the gRPC content type is answered 415 (no grpc-status needed).
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Upgrade = "h2c";
            return;
        }
        response.ContentType = "application/grpc";
        var path = request.Path.Value ?? "";
        if (!methods.TryGet(path, out var method))
        {
            TrailersOnly(response, RpcStatusCode.Unimplemented, $"Method {path} is unimplemented.");
            return;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var hasDeadline = GrpcTimeout.TryParse(request.Headers["grpc-timeout"], out var timeout);
        if (hasDeadline) deadline.CancelAfter(timeout);
        var context = new RpcCallContext(http, path, deadline.Token) { Authorize = Authorize };
        var written = 0;
        RpcStatusCode status;
        string message;
        try
        {
            Authorize?.Invoke(context);
            written = await method.InvokeAsync(context, request.BodyReader, response.BodyWriter, MaxReceiveMessageSize).ConfigureAwait(false);
            status = RpcStatusCode.OK;
            message = "";
        }
        catch (RpcException ex)
        {
            status = ex.Status;
            message = ex.Message;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away: nobody is left to answer
        }
        catch (OperationCanceledException) when (hasDeadline && deadline.IsCancellationRequested)
        {
            status = RpcStatusCode.DeadlineExceeded;
            message = "Deadline exceeded.";
        }
        catch (Exception ex)
        {
            // Like grpc-dotnet: the client learns that the handler failed, not the exception's details.
            HandlerFailed(_log, path, ex);
            status = RpcStatusCode.Unknown;
            message = "Exception was thrown by handler.";
        }

        if (written == 0 && !response.HasStarted)
        {
            // Nothing was sent (a failed unary call, a stream that failed before its first message): drop any
            // half-written body and answer trailers-only. A stream that already sent messages ends with trailers.
            TrailersOnly(response, status, message);
            return;
        }
        if (!response.SupportsTrailers())
        {
            // Only HTTP/2 reaches here, and Kestrel's HTTP/2 supports trailers; a host without them cannot speak gRPC.
            throw new InvalidOperationException("the HTTP response does not support trailers");
        }
        response.AppendTrailer("grpc-status", ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (message.Length > 0) response.AppendTrailer("grpc-message", GrpcStatusText.Encode(message));
    }

    /// <summary>A trailers-only response: the status goes in the one HEADERS frame, which ends the stream.</summary>
    private static void TrailersOnly(HttpResponse response, RpcStatusCode status, string message)
    {
        response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (message.Length > 0) response.Headers["grpc-message"] = GrpcStatusText.Encode(message);
    }

    internal static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)) return false;
        // "application/grpc", "application/grpc+proto", "application/grpc;charset=..." — not "application/grpc-web".
        return contentType.Length == 16 || contentType[16] is '+' or ';';
    }

    [LoggerMessage(6000, LogLevel.Error, "gRPC method {Method} failed")]
    private static partial void HandlerFailed(ILogger logger, string method, Exception exception);
}
