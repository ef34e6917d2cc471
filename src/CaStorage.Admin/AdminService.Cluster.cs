using CaStorage.Admin.V1;
using CaStorage.Rpc;
using Google.Protobuf;

namespace CaStorage.Admin;

/// <summary>
/// Cluster-wide answers from any node: lists gather every live node's part (sessions, trees and opens of its clients;
/// locks, leases and disconnected opens of its shards), an open or session is closed where its client is, a drain
/// reaches the node named. Peers are asked over the cluster RPC (Breaks.Admin), which relays to their own handlers.
/// </summary>
public sealed partial class AdminService
{
    private readonly Dictionary<string, Func<byte[], RpcCallContext, Task<byte[]>>> _relayed = new(StringComparer.Ordinal);

    /// <summary>Maps a method and lets peers call it (their calls come already authorized, by their own admin API).</summary>
    private void MapRelayed<TReq, TRes>(GrpcMethodTable table, string name, UnaryHandler<TReq, TRes> handler)
        where TReq : class, IMessage<TReq>, new() where TRes : class, IMessage<TRes>
    {
        table.MapUnary(Method(name), handler);
        var parser = new MessageParser<TReq>(() => new TReq());
        _relayed[name] = async (bytes, call) => (await handler(parser.ParseFrom(bytes), call).ConfigureAwait(false)).ToByteArray();
    }

    private Task<byte[]> RelayedAsync(string method, byte[] request, string caller, CancellationToken ct) =>
        _relayed.TryGetValue(method, out var handler)
            ? handler(request, new RpcCallContext($"/{ServiceName}/{method}", caller, ct))
            : throw new RpcException(RpcStatusCode.Unimplemented, $"admin method {method} is not relayed");

    /// <summary>A list: this node's part, then every other live node's appended (repeated fields merge by appending).</summary>
    private UnaryHandler<TReq, TRes> ClusterWide<TReq, TRes>(string name, UnaryHandler<TReq, TRes> local)
        where TReq : IMessage<TReq>, INodeScoped where TRes : IMessage<TRes> => async (request, call) =>
    {
        var response = await local(request, call).ConfigureAwait(false);
        if (Cluster is not { } cluster || request.ThisNodeOnly) return response;
        foreach (var part in await cluster.CallOthersAsync(name, ThisNodeOnly(request), call.CancellationToken).ConfigureAwait(false))
            response.MergeFrom(part);
        return response;
    };

    /// <summary>
    /// An action on one client's open or session: here if it is here (the local handler answers null when it is not),
    /// else on the node that has it. A refusal is logged once, by the node the caller asked.
    /// </summary>
    private UnaryHandler<TReq, TRes> WhereItIs<TReq, TRes>(string name, Func<TReq, RpcCallContext, ValueTask<TRes?>> local, Func<TReq, string> what)
        where TReq : IMessage<TReq>, INodeScoped where TRes : class, IMessage<TRes>, new() => async (request, call) =>
    {
        if (await local(request, call).ConfigureAwait(false) is { } here) return here;
        // A peer asking for its part: only the node that has it answers, the others' NOT_FOUND is left out there.
        if (request.ThisNodeOnly) throw new RpcException(RpcStatusCode.NotFound, $"no {what(request)} on node {_node.Id}");
        if (Cluster is not { } cluster) throw Refuse(call, new RpcException(RpcStatusCode.NotFound, $"no {what(request)}"));
        var answers = await cluster.CallOthersAsync(name, ThisNodeOnly(request), call.CancellationToken).ConfigureAwait(false);
        if (answers.Count == 0) throw Refuse(call, new RpcException(RpcStatusCode.NotFound, $"no {what(request)} on any node"));
        var response = new TRes();
        response.MergeFrom(answers[0]);
        return response;
    };

    private static byte[] ThisNodeOnly<TReq>(TReq request) where TReq : IMessage<TReq>, INodeScoped
    {
        var copy = request.Clone();
        copy.ThisNodeOnly = true;
        return copy.ToByteArray();
    }

    /// <summary>Drain of another node: relayed to it (it drains itself: its shards and clients move).</summary>
    private async ValueTask<DrainResponse> DrainElsewhereAsync(DrainRequest request, RpcCallContext call)
    {
        var answer = Cluster is { } cluster ? await cluster.CallNodeAsync(request.Node, "Drain", request.ToByteArray(), call.CancellationToken).ConfigureAwait(false) : null;
        if (answer is null)
            throw Refuse(call, new RpcException(RpcStatusCode.NotFound, $"no live node '{request.Node}' (castorctl nodes lists them)"));
        return DrainResponse.Parser.ParseFrom(answer);
    }
}
