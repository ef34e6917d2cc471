using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using CaStorage.Rpc.V1;
using Google.Protobuf;

namespace CaStorage.Rpc;

/// <summary>
/// The caller's side of Multiplex/Exchange: one stream per server, opened on first use and again after it breaks.
/// Calls are frames with ids; requests queued while a write is in progress leave together. When the stream breaks
/// (the server died or restarted) every call waiting on it fails UNAVAILABLE, as its own HTTP/2 request would.
/// </summary>
internal sealed class MultiplexChannel(HttpClient http, Uri address, string? bearerToken) : IDisposable
{
    private static readonly string ExchangePath =
        GrpcMethodTable.PathOf(MultiplexReflection.Descriptor.Services[0].FindMethodByName("Exchange"));

    private readonly Lock _lock = new();
    private Exchange? _current;
    private long _nextId;
    private bool _disposed;

    /// <summary>The server answered Exchange with UNIMPLEMENTED (an older node): callers use one request per call.</summary>
    public bool Unsupported { get; private set; }

    public int MaxReceiveMessageSize { get; init; } = 64 * 1024 * 1024;

    public async Task<ByteString> CallAsync(string method, ByteString request, TimeSpan? deadline, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var exchange = Current();
        var id = (ulong)Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<Frame>(TaskCreationOptions.RunContinuationsAsynchronously);
        exchange.Pending[id] = answer;
        var frame = new Frame { Id = id, Method = method, Payload = request };
        if (deadline is { } d) frame.TimeoutMs = (uint)Math.Clamp(Math.Ceiling(d.TotalMilliseconds), 1, uint.MaxValue);
        // The exchange marks itself broken before it fails what is pending: a call added after that sees the mark.
        if (exchange.Broken is { } broken || !exchange.Requests.Writer.TryWrite(frame))
        {
            exchange.Pending.TryRemove(id, out _);
            throw exchange.Broken ?? new RpcException(RpcStatusCode.Unavailable, $"{method}: the stream to {address} is closed");
        }

        Frame result;
        try
        {
            result = await answer.Task.WaitAsync(deadline ?? Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            GiveUp(exchange, id);
            throw new RpcException(RpcStatusCode.DeadlineExceeded, $"{method}: no answer from {address} within the deadline");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            GiveUp(exchange, id);
            throw;
        }
        if (result.Status != 0) throw new RpcException((RpcStatusCode)result.Status, result.Message);
        return result.Payload;
    }

    private static void GiveUp(Exchange exchange, ulong id)
    {
        if (exchange.Pending.TryRemove(id, out _)) exchange.Requests.Writer.TryWrite(new Frame { Id = id, Cancel = true });
    }

    private Exchange Current()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_current is { Broken: null } live) return live;
            var exchange = new Exchange();
            _current = exchange;
            _ = RunAsync(exchange);
            return exchange;
        }
    }

    private async Task RunAsync(Exchange exchange)
    {
        RpcException? failure = null;
        try
        {
            using var message = GrpcClient.NewRequest(ExchangePath, new RequestFrames(exchange.Requests.Reader), bearerToken);
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, exchange.Abort.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
                throw new RpcException(RpcStatusCode.Unavailable, $"Exchange: HTTP {(int)response.StatusCode} from {address}");
            if (GrpcClient.TryGetStatus(response.Headers, out var refused, out var why) && refused != RpcStatusCode.OK)
            {
                // Trailers-only: the server does not serve Exchange (an older node), or refused it.
                if (refused == RpcStatusCode.Unimplemented) Unsupported = true;
                throw new RpcException(Unsupported ? RpcStatusCode.Unimplemented : RpcStatusCode.Unavailable, $"Exchange refused by {address}: {why}");
            }
            var stream = await response.Content.ReadAsStreamAsync(exchange.Abort.Token).ConfigureAwait(false);
            var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
            await foreach (var frame in GrpcFraming.ReadAllAsync(reader, Frame.Parser, MaxReceiveMessageSize, exchange.Abort.Token).ConfigureAwait(false))
                if (exchange.Pending.TryRemove(frame.Id, out var waiting)) waiting.TrySetResult(frame);
            failure = new RpcException(RpcStatusCode.Unavailable, $"{address} ended the call stream");
        }
        catch (RpcException ex)
        {
            failure = ex;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            failure = new RpcException(RpcStatusCode.Unavailable, $"cannot reach {address}: {GrpcClient.Innermost(ex).Message}", ex);
        }
        finally
        {
            exchange.Fail(failure ?? new RpcException(RpcStatusCode.Unavailable, $"the call stream to {address} broke"));
            lock (_lock)
                if (_current == exchange) _current = null;
        }
    }

    public void Dispose()
    {
        Exchange? current;
        lock (_lock)
        {
            _disposed = true;
            current = _current;
            _current = null;
        }
        current?.Fail(new RpcException(RpcStatusCode.Unavailable, "the client is closed"));
    }

    private sealed class Exchange
    {
        private volatile RpcException? _broken;
        public readonly Channel<Frame> Requests = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true });
        public readonly ConcurrentDictionary<ulong, TaskCompletionSource<Frame>> Pending = new();
        public readonly CancellationTokenSource Abort = new();

        public RpcException? Broken => _broken;

        public void Fail(RpcException reason)
        {
            if (Interlocked.CompareExchange(ref _broken, reason, null) is not null) return;
            Requests.Writer.TryComplete();
            try { Abort.Cancel(); }
            catch (ObjectDisposedException) { /* already gone */ }
            foreach (var id in Pending.Keys)
                if (Pending.TryRemove(id, out var waiting)) waiting.TrySetException(reason);
        }
    }

    /// <summary>The request body: frames as they are queued, until the exchange ends.</summary>
    private sealed class RequestFrames(ChannelReader<Frame> frames) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken ct)
        {
            var buffer = new ArrayBufferWriter<byte>(16 * 1024);
            while (await frames.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (frames.TryRead(out var frame)) GrpcFraming.WriteMessage(buffer, frame);
                await stream.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
                await stream.FlushAsync(ct).ConfigureAwait(false);
                buffer.ResetWrittenCount();
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
