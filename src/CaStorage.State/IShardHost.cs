namespace CaStorage.State;

/// <summary>The local state tier as a cluster node drives it when shards move (ARCHITECTURE §3).</summary>
public interface IShardHost
{
    /// <summary>This node took the shards: bring back their durable opens from the shared store, disconnected.</summary>
    Task<int> RestoreShardsAsync(IReadOnlySet<int> shards, CancellationToken ct);

    /// <summary>The shard went to another node: forget its file actors here.</summary>
    void DropShard(int shard);
}
