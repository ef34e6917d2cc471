using CaStorage.Core;

namespace CaStorage.Cluster;

/// <summary>
/// Which live node should own a shard: rendezvous (highest random weight) hashing, so a node joining or leaving moves
/// only about 1/N of the shards and every node computes the same answer from the same member list.
/// </summary>
public static class ShardPlacement
{
    public static string? OwnerOf(int shard, IReadOnlyList<string> liveNodes)
    {
        string? best = null;
        ulong bestWeight = 0;
        foreach (var n in liveNodes)
        {
            var w = StableHash.Of($"{shard}/{n}");
            if (best is null || w > bestWeight || w == bestWeight && string.CompareOrdinal(n, best) < 0)
            {
                best = n;
                bestWeight = w;
            }
        }
        return best;
    }
}
