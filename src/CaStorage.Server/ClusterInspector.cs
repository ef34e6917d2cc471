using CaStorage.Cluster;
using CaStorage.Smb.Server;
using CaStorage.State.Inspection;

namespace CaStorage.Server;

/// <summary>The admin API's view of the cluster: members and shard owners from the membership, drain with hand-off.</summary>
internal sealed class ClusterInspector(ClusterRuntime cluster, SmbClientNotifier connections) : IClusterInspector
{
    public IReadOnlyList<ClusterMemberView> Members()
    {
        var view = cluster.Membership.View;
        return view.Nodes.Select(n => new ClusterMemberView(n.NodeId, n.SmbEndpoint, n.State, n.Live, n.StartedAtMs,
            view.Shards.Where(s => s.Value.Owner == n.NodeId).Select(s => s.Key).OrderBy(s => s).ToArray())).ToArray();
    }

    public async Task DrainAsync(bool drain)
    {
        await cluster.Membership.DrainAsync(drain, CancellationToken.None).ConfigureAwait(false);
        if (!drain) return;
        // Once the others own this node's shards, its clients are sent away: they reconnect through the front to a
        // node that is not draining and reclaim their durable and persistent handles there.
        for (var i = 0; i < 100 && cluster.Membership.OwnedShards.Count > 0; i++) await Task.Delay(50).ConfigureAwait(false);
        connections.AbortAll();
    }

    public Func<string, byte[], string, CancellationToken, Task<byte[]>>? AdminHandler { set => cluster.AdminHandler = value; }

    public Task<IReadOnlyList<byte[]>> CallOthersAsync(string method, byte[] request, CancellationToken ct) =>
        cluster.AdminOthersAsync(method, request, ct);

    public Task<byte[]?> CallNodeAsync(string node, string method, byte[] request, CancellationToken ct) =>
        cluster.AdminNodeAsync(node, method, request, ct);
}
