using CaStorage.Rpc;
using CaStorage.State;
using Google.Protobuf.Reflection;
using V1 = CaStorage.Cluster.V1;

namespace CaStorage.Cluster.Rpc;

/// <summary>Breaks.Notify (a shard owner's break for a client connected here) and Breaks.Opens (this node's clients' opens).</summary>
internal sealed class BreaksRpcService(ClusterNotifier notifier, Func<IOpenDirectory?> directory)
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
    }
}
