using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Threading.Channels;
using CaStorage.Rpc.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CaStorage.Rpc;

/// <summary>
/// The server side of Multiplex/Exchange: each request frame names a unary method of the same table and runs
/// concurrently with the others (a blocking lock may wait for minutes while other calls come and go); answers are
/// written as they complete, as many as are ready per flush.
/// </summary>
internal sealed partial class MultiplexMethod(GrpcMethodTable table, ILogger log) : GrpcMethod
{
    public override async Task<int> InvokeAsync(RpcCallContext context, PipeReader body, PipeWriter output, int maxMessageSize)
    {
        var http = context.HttpContext ?? throw new RpcException(RpcStatusCode.Internal, "Exchange needs an HTTP/2 request");
        var ct = context.CancellationToken;
        // The response starts now, so the caller knows at once that the stream is up (or that it is not served here).
        await http.Response.StartAsync(ct).ConfigureAwait(false);
        var answers = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true });
        var running = new ConcurrentDictionary<ulong, CancellationTokenSource>();
        var writer = WriteAnswersAsync(answers.Reader, output);
        // A stream lives as long as its caller: when this server stops, it takes no more calls, lets those running
        // finish for a moment, and ends the stream; the caller fails the rest UNAVAILABLE and goes elsewhere.
        var stopping = http.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping);
        try
        {
            await foreach (var frame in GrpcFraming.ReadAllAsync(body, Frame.Parser, maxMessageSize, reading.Token).ConfigureAwait(false))
            {
                if (frame.Cancel)
                {
                    if (running.TryGetValue(frame.Id, out var call)) TryCancel(call);
                    continue;
                }
                var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                if (frame.TimeoutMs > 0) cts.CancelAfter(TimeSpan.FromMilliseconds(frame.TimeoutMs));
                if (!running.TryAdd(frame.Id, cts))
                {
                    cts.Dispose();
                    answers.Writer.TryWrite(Failed(frame.Id, RpcStatusCode.Internal, $"call {frame.Id} is already running"));
                    continue;
                }
                _ = RunAsync(frame, context, cts, running, answers.Writer);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            await UntilDoneAsync(running, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        finally
        {
            // The caller ended its side or went away: what still runs is cancelled and its answer dropped. The
            // handlers were given this request's context, so it stays alive until they are done (briefly: cancelled).
            answers.Writer.TryComplete();
            foreach (var call in running.Values) TryCancel(call);
            await UntilDoneAsync(running, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        return await writer.ConfigureAwait(false);
    }

    private async Task RunAsync(Frame request, RpcCallContext exchange, CancellationTokenSource cts, ConcurrentDictionary<ulong, CancellationTokenSource> running,
        ChannelWriter<Frame> answers)
    {
        Frame answer;
        try
        {
            if (!table.TryGet(request.Method, out var method) || method is not IUnaryInvoker unary)
                throw new RpcException(RpcStatusCode.Unimplemented, $"Method {request.Method} is not a unary method served here.");
            var context = new RpcCallContext(exchange.HttpContext!, request.Method, cts.Token) { Authorize = exchange.Authorize };
            exchange.Authorize?.Invoke(context);
            var response = await unary.InvokeAsync(request.Payload, context).ConfigureAwait(false);
            answer = new Frame { Id = request.Id, Payload = Google.Protobuf.MessageExtensions.ToByteString(response) };
        }
        catch (RpcException ex)
        {
            answer = Failed(request.Id, ex.Status, ex.Message);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            answer = Failed(request.Id, exchange.CancellationToken.IsCancellationRequested ? RpcStatusCode.Cancelled : RpcStatusCode.DeadlineExceeded,
                "Call cancelled or deadline exceeded.");
        }
        catch (Exception ex)
        {
            HandlerFailed(log, request.Method, ex);
            answer = Failed(request.Id, RpcStatusCode.Unknown, "Exception was thrown by handler.");
        }
        finally
        {
            running.TryRemove(request.Id, out _);
            cts.Dispose();
        }
        answers.TryWrite(answer); // fails only once the exchange is over: nobody is left to answer
    }

    private static async Task<int> WriteAnswersAsync(ChannelReader<Frame> answers, PipeWriter output)
    {
        var written = 0;
        while (await answers.WaitToReadAsync().ConfigureAwait(false))
        {
            while (answers.TryRead(out var frame))
            {
                GrpcFraming.WriteMessage(output, frame);
                written++;
            }
            try
            {
                var flushed = await output.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled) break;
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
            {
                break; // the caller is gone: the reading side ends the exchange
            }
        }
        return written;
    }

    /// <summary>Waits, bounded, until no call of the exchange runs any more.</summary>
    private static async Task UntilDoneAsync(ConcurrentDictionary<ulong, CancellationTokenSource> running, TimeSpan limit)
    {
        var end = DateTime.UtcNow + limit;
        while (!running.IsEmpty && DateTime.UtcNow < end) await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
    }

    private static Frame Failed(ulong id, RpcStatusCode status, string message) => new() { Id = id, Status = (uint)status, Message = message };

    private static void TryCancel(CancellationTokenSource call)
    {
        try { call.Cancel(); }
        catch (ObjectDisposedException) { /* it just finished */ }
    }

    [LoggerMessage(6001, LogLevel.Error, "gRPC method {Method} (multiplexed) failed")]
    private static partial void HandlerFailed(ILogger logger, string method, Exception exception);
}
