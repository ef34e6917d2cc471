using System.IO.Pipelines;
using Google.Protobuf;

namespace CaStorage.Rpc;

/// <summary>One mapped method: reads its requests off the body and writes framed responses.</summary>
internal abstract class GrpcMethod
{
    /// <summary>Runs the call; returns how many response messages were written (0 means a trailers-only answer is possible).</summary>
    public abstract Task<int> InvokeAsync(RpcCallContext context, PipeReader body, PipeWriter output, int maxMessageSize);
}

/// <summary>A unary method, which a <see cref="MultiplexMethod"/> frame can also carry.</summary>
internal interface IUnaryInvoker
{
    ValueTask<IMessage> InvokeAsync(ByteString request, RpcCallContext context);
}

internal sealed class UnaryMethod<TRequest, TResponse>(MessageParser<TRequest> parser, UnaryHandler<TRequest, TResponse> handler) : GrpcMethod, IUnaryInvoker
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    async ValueTask<IMessage> IUnaryInvoker.InvokeAsync(ByteString request, RpcCallContext context) =>
        await handler(GrpcFraming.Parse(parser, new System.Buffers.ReadOnlySequence<byte>(request.Memory)), context).ConfigureAwait(false);

    public override async Task<int> InvokeAsync(RpcCallContext context, PipeReader body, PipeWriter output, int maxMessageSize)
    {
        var request = await GrpcFraming.ReadSingleAsync(body, parser, maxMessageSize, context.CancellationToken).ConfigureAwait(false);
        var response = await handler(request, context).ConfigureAwait(false);
        GrpcFraming.WriteMessage(output, response);
        return 1;
    }
}

internal sealed class DuplexMethod<TRequest, TResponse>(MessageParser<TRequest> parser, DuplexStreamingHandler<TRequest, TResponse> handler) : GrpcMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task<int> InvokeAsync(RpcCallContext context, PipeReader body, PipeWriter output, int maxMessageSize)
    {
        var writer = new ResponseStreamWriter<TResponse>(output, context.CancellationToken);
        await handler(GrpcFraming.ReadAllAsync(body, parser, maxMessageSize, context.CancellationToken), writer, context).ConfigureAwait(false);
        return writer.Count;
    }
}

internal sealed class ServerStreamingMethod<TRequest, TResponse>(MessageParser<TRequest> parser, ServerStreamingHandler<TRequest, TResponse> handler)
    : GrpcMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task<int> InvokeAsync(RpcCallContext context, PipeReader body, PipeWriter output, int maxMessageSize)
    {
        var request = await GrpcFraming.ReadSingleAsync(body, parser, maxMessageSize, context.CancellationToken).ConfigureAwait(false);
        var writer = new ResponseStreamWriter<TResponse>(output, context.CancellationToken);
        await handler(request, writer, context).ConfigureAwait(false);
        return writer.Count;
    }
}

/// <summary>Writes each response message as its own frame and flushes it, so a stream's messages reach the client as they come.</summary>
internal sealed class ResponseStreamWriter<TResponse>(PipeWriter output, CancellationToken ct) : IServerStreamWriter<TResponse>
    where TResponse : class, IMessage<TResponse>
{
    public int Count { get; private set; }

    public async ValueTask WriteAsync(TResponse message)
    {
        GrpcFraming.WriteMessage(output, message);
        Count++;
        await output.FlushAsync(ct).ConfigureAwait(false);
    }
}
