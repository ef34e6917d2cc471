using CaStorage.Cluster;

namespace CaStorage.Cluster.Tests;

public sealed class ShardPlacementTests
{
    private const int Shards = 256;

    public static TheoryData<string, int> Clusters()
    {
        var d = new TheoryData<string, int>();
        for (var n = 2; n <= 6; n++)
        {
            d.Add("node{0}", n);          // cluster/up.sh: node1, node2, ...
            d.Add("castorage-{0}", n);    // a StatefulSet's pods
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(Clusters))]
    public void Every_node_gets_about_its_share(string pattern, int count)
    {
        var nodes = Enumerable.Range(pattern.StartsWith("node", StringComparison.Ordinal) ? 1 : 0, count)
            .Select(i => string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, i)).ToList();
        var owned = Enumerable.Range(0, Shards).GroupBy(s => ShardPlacement.OwnerOf(s, nodes)).ToDictionary(g => g.Key!, g => g.Count());
        var fair = (double)Shards / count;
        Assert.Equal(count, owned.Count);
        Assert.All(owned, kv => Assert.InRange(kv.Value, 0.7 * fair, 1.3 * fair));
    }

    [Fact]
    public void A_joining_node_takes_shards_only_for_itself()
    {
        string[] three = ["node1", "node2", "node3"], four = [.. three, "node4"];
        var moved = Enumerable.Range(0, Shards).Where(s => ShardPlacement.OwnerOf(s, three) != ShardPlacement.OwnerOf(s, four)).ToList();
        Assert.All(moved, s => Assert.Equal("node4", ShardPlacement.OwnerOf(s, four)));
        Assert.InRange(moved.Count, Shards / 4 * 0.7, Shards / 4 * 1.3);
    }
}
