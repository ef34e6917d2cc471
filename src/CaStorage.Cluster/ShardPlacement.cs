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
            var w = Mix(StableHash.Of($"{shard}/{n}"));
            if (best is null || w > bestWeight || w == bestWeight && string.CompareOrdinal(n, best) < 0)
            {
                best = n;
                bestWeight = w;
            }
        }
        return best;
    }

    /// <summary>
    /// SplitMix64's finalizer. FNV-1a alone leaves names that differ in their last character ("node1", "node2") with
    /// correlated weights: one of three nodes then won half the shards. Mixed, each gets its 1/N.
    /// </summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}
