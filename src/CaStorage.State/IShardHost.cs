namespace CaStorage.State;

/// <summary>The local state tier as a cluster node drives it when shards move (ARCHITECTURE §3).</summary>
public interface IShardHost
{
    /// <summary>This node took the shards: bring back their durable opens from the shared store, disconnected.</summary>
    Task<int> RestoreShardsAsync(IReadOnlySet<int> shards, CancellationToken ct);

    /// <summary>
    /// Opens of connected clients (on any node) in shards this node just took: their share modes, oplocks, leases and
    /// locks go back into the file actors; a durable one restored as disconnected becomes connected again.
    /// </summary>
    Task ReassertAsync(IReadOnlyList<ReassertedOpen> opens);

    /// <summary>
    /// Those members are gone (owner-tag prefixes): the opens their clients held are disconnected if durable (kept for
    /// their timeout) and closed otherwise, releasing their locks and leases (ARCHITECTURE §3, failover step 1).
    /// </summary>
    Task MembersGoneAsync(IReadOnlyList<string> ownerPrefixes);

    /// <summary>The shard went to another node: forget its file actors here.</summary>
    void DropShard(int shard);
}
