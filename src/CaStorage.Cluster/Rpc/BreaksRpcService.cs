using CaStorage.Rpc;
using CaStorage.State;
using Google.Protobuf.Reflection;
using V1 = CaStorage.Cluster.V1;

namespace CaStorage.Cluster.Rpc;

/// <summary>
/// Breaks.Notify (a shard owner's break for a client connected here), Breaks.Opens (this node's clients' opens), and the
/// peers' session, open, change and admin calls.
/// </summary>
internal sealed class BreaksRpcService(ClusterNotifier notifier, Func<IOpenDirectory?> directory, Func<INodeEvents?> events,
    Func<Func<string, byte[], string, CancellationToken, Task<byte[]>>?> admin, PeerWatches peerWatches, Func<V1.WatchedShares> watchedHere)
{
    internal static readonly ServiceDescriptor Service = V1.ClusterReflection.Descriptor.Services.Single(s => s.Name == "Breaks");

    public void MapTo(GrpcMethodTable t)
    {
        t.MapUnary<V1.BreakNotice, V1.Empty>(Service.FindMethodByName("Notify"), (n, _) =>
        {
            notifier.Deliver(n);
            return ValueTask.FromResult(new V1.Empty());
        });
        t.MapUnary<V1.ShardList, V1.OpenList>(Service.FindMethodByName("Opens"), (q, _) =>
        {
            var list = new V1.OpenList();
            if (directory() is { } d) list.Opens.AddRange(d.ConnectedOpens(q.Shards.ToHashSet()).Select(ClusterWire.Of));
            return ValueTask.FromResult(list);
        });
        t.MapUnary<V1.SessionCall, V1.Empty>(Service.FindMethodByName("EndSession"), async (q, _) =>
        {
            if (events() is { } e) await e.EndSessionAsync(q.SessionId, q.User).ConfigureAwait(false);
            return new V1.Empty();
        });
        t.MapUnary<V1.OpenRef, V1.BoolResult>(Service.FindMethodByName("CloseOpen"), async (q, _) =>
            new V1.BoolResult { Value = events() is { } e && await e.CloseOpenAsync(new OpenId(q.Open)).ConfigureAwait(false) });
        t.MapUnary<V1.ChangeEvent, V1.WatchedShares>(Service.FindMethodByName("Changed"), (q, _) =>
        {
            if (q.DeletePending) events()?.DirectoryDeletePending(q.Share, q.Path);
            else events()?.Changed(q.Share, q.Path, (int)q.Action, (int)q.Filter);
            return ValueTask.FromResult(watchedHere());
        });
        t.MapUnary<V1.WatchedShares, V1.Empty>(Service.FindMethodByName("Watching"), (q, _) =>
        {
            peerWatches.Learn(q.Node, q.Version, q.Shares);
            return ValueTask.FromResult(new V1.Empty());
        });
        t.MapUnary<V1.AdminRelay, V1.AdminRelay>(Service.FindMethodByName("Admin"), async (q, call) =>
        {
            var handler = admin() ?? throw new RpcException(RpcStatusCode.Unavailable, "this node's admin API is not running");
            var answer = await handler(q.Method, q.Message.ToByteArray(), $"node {call.Peer}", call.CancellationToken).ConfigureAwait(false);
            return new V1.AdminRelay { Method = q.Method, Message = Google.Protobuf.ByteString.CopyFrom(answer) };
        });
    }
}
