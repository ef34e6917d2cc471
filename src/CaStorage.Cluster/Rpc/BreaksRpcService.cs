using CaStorage.Rpc;
using V1 = CaStorage.Cluster.V1;

namespace CaStorage.Cluster.Rpc;

/// <summary>Breaks.Notify: a shard owner's break for a client connected to this node.</summary>
internal sealed class BreaksRpcService(ClusterNotifier notifier)
{
    public void MapTo(GrpcMethodTable t) =>
        t.MapUnary<V1.BreakNotice, V1.Empty>(V1.ClusterReflection.Descriptor.Services.Single(s => s.Name == "Breaks").FindMethodByName("Notify"), (n, _) =>
        {
            notifier.Deliver(n);
            return ValueTask.FromResult(new V1.Empty());
        });
}
