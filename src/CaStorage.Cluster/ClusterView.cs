namespace CaStorage.Cluster;

/// <summary>A node as the membership tables show it. Live: its liveness lock is held right now.</summary>
public sealed record ClusterNode(string NodeId, string RpcEndpoint, string SmbEndpoint, string State, bool Live, long StartedAtMs);

/// <summary>One round's picture of the cluster, as this node saw it.</summary>
public sealed record ClusterView(IReadOnlyList<ClusterNode> Nodes, IReadOnlyDictionary<int, (string? Owner, long Epoch)> Shards)
{
    public static readonly ClusterView Empty = new([], new Dictionary<int, (string?, long)>());
}
